"""Methods of C types: list.append, dict.get, str.join, a bound method called later, a list subclass."""


class Tags(list):
    """A list subclass; its append is list's C method."""


def main():
    items = []
    for word in ("alpha", "beta", "gamma"):
        items.append(word)
    counts = {}
    for word in items + ["beta"]:
        counts[word] = counts.get(word, 0) + 1
    joined = ", ".join(items)
    add = items.append  # a bound builtin method, called as such
    add("delta")
    tags = Tags()
    tags.append("x")
    return joined, counts, tags
