"""A bundle and what it takes to run it: manifest and contracts, codebooks, tokenizer, preprocessing,
inference backends and encoders. The ground floor beside store/: imports nothing else of pocketclip."""
