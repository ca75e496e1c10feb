// GOV.UK Frontend and MOJ Frontend components (served by the app, no CDN)
import { initAll } from "/static/vendor/govuk/govuk-frontend.min.js";
import { initAll as initMoj } from "/static/vendor/moj/moj-frontend.min.js";

initAll();
initMoj();
