"""`python -m genesis_weights ARGS`: the `genesis` command."""

from genesis_weights import main

if __name__ == "__main__":
    main()
