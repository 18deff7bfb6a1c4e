"""Where a step spends its time: py-spy samples summed up per function.

``bench.py --profile`` records each py step once with ``py-spy record
--format raw`` (one line per distinct stack with its sample count) and
writes what this module makes of it: the functions with the most samples of
their own ("self", where the time is spent) and with the most samples
anywhere on the stack ("total", what the time is spent for).
"""

import collections
import re

_LINE_NUMBER = re.compile(r":\d+\)$")


def read_stacks(path):
    """{stack as a tuple of "function (file)": samples} from a py-spy raw file."""
    stacks = collections.Counter()
    with open(path, encoding="utf-8", errors="replace") as raw:
        for line in raw:
            stack, _, count = line.rstrip("\n").rpartition(" ")
            if not stack or not count.isdigit():
                continue
            frames = tuple(_LINE_NUMBER.sub(")", frame) for frame in stack.split(";"))
            stacks[frames] += int(count)
    return stacks


def summarize(path, title, top=25):
    stacks = read_stacks(path)
    samples = sum(stacks.values())
    if not samples:
        return "%s\n\nno samples (did py-spy run?)\n" % title
    own, anywhere = collections.Counter(), collections.Counter()
    for frames, count in stacks.items():
        own[frames[-1]] += count
        for frame in set(frames):
            anywhere[frame] += count
    lines = [title, "", "%d samples. Share of samples per function:" % samples, ""]
    lines.append("self (time spent in the function itself):")
    lines += ["  %5.1f%%  %s" % (100 * n / samples, f) for f, n in own.most_common(top)]
    lines.append("")
    lines.append("total (time spent in the function and what it calls):")
    lines += [
        "  %5.1f%%  %s" % (100 * n / samples, f)
        for f, n in anywhere.most_common(top * 3)
        if "<frozen" not in f
    ][: top * 2]
    return "\n".join(lines) + "\n"
