"""Settings split: base (shared), dev (make run), test (make test), production."""
