"""The journal: the durable record of runs that resume, history and reports trust."""
