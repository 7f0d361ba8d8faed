"""Operations: the commands behind ``sfacal`` (serve, web, worker, createadmin, check, emulate)."""
