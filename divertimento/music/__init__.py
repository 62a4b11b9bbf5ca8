"""Reading and writing pieces, and the one notes <-> roll converter."""
