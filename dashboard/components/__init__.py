"""Pure HTML builders for the pages: data in, Dash components out (no database, no request)."""
