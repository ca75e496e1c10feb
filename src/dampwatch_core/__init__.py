"""What every DampWatch service agrees on: the wire contract, settings, the error root."""
