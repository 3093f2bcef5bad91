"""Layer 5, composition roots and border I/O: the only code that reads the environment,
argv, the terminal, the clock, the host name, the pid or signals.
"""
