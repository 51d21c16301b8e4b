"""Evaluation by the standard retrieval protocol (R@1/5/10 both ways), for models and exported artifacts.
May import towers/, data/ and the runtime."""
