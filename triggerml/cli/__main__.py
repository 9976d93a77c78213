"""`python -m triggerml.cli`."""

from triggerml.cli import main

main()
