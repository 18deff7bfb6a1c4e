"""What gives the commands one voice: progress bars and summaries, Ctrl-C and
SIGTERM, and refusals read as one line with one way to ask "are you sure".
"""
