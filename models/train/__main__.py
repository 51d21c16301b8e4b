"""`python -m pocketclip.models.train RECIPE --out DIR` (or under torchrun): run.py's main."""
from pocketclip.models.train.run import main

if __name__ == "__main__":
    main()
