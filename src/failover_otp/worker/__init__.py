"""The deadline worker: claims due flow deadlines and fires them."""
