"""A reference reading of PowerShell's tokenizer rules for quoted strings, to check scripts.

Ported from the rules of PowerShell's own tokenizer (System.Management.Automation.Language):
a single-quoted string ends at any of ' ‘ ’ ‚ ‛ unless the next character is one of them too
(then the pair stands for the second); a double-quoted string ends at " “ ” „ unless doubled or
escaped with a backtick; ``#`` outside a string starts a comment to the end of the line.
"""

SINGLE = set("'\u2018\u2019\u201a\u201b")
DOUBLE = set('"\u201c\u201d\u201e')


class Unterminated(ValueError):
    pass


def split(script: str) -> tuple[str, list[str]]:
    """(skeleton with every single-quoted literal replaced by '?', the literals' values)."""
    out, values, i, n = [], [], 0, len(script)
    while i < n:
        c = script[i]
        if c == "#":
            end = script.find("\n", i)
            end = n if end < 0 else end
            out.append(script[i:end])
            i = end
        elif c == "`":
            out.append(script[i : i + 2])
            i += 2
        elif c in DOUBLE:
            j = i + 1
            while True:
                if j >= n:
                    raise Unterminated(script[i:])
                if script[j] == "`":
                    j += 2
                    continue
                if script[j] in DOUBLE:
                    if j + 1 < n and script[j + 1] in DOUBLE:
                        j += 2
                        continue
                    break
                j += 1
            out.append(script[i : j + 1])
            i = j + 1
        elif c in SINGLE:
            j, value = i + 1, []
            while True:
                if j >= n:
                    raise Unterminated(script[i:])
                ch = script[j]
                if ch in SINGLE:
                    if j + 1 < n and script[j + 1] in SINGLE:
                        value.append(script[j + 1])
                        j += 2
                        continue
                    break
                value.append(ch)
                j += 1
            values.append("".join(value))
            out.append("'?'")
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out), values
