// GOV.UK Frontend styles its components for JavaScript only when the body says so
document.body.className += " js-enabled" + ("noModule" in HTMLScriptElement.prototype ? " govuk-frontend-supported" : "");
