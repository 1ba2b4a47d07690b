"""One profile per drug (a module each) and the registry that lists them."""
