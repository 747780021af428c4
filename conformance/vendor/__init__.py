"""``twofa check-authenticator``: the compatibility matrix of an authenticator's code generator.

A vendor plugs in its generator (a JSON-lines process, a command template, or
a built-in simulator profile); the harness provisions it with a covering set
of cases, compares its codes with the reference algorithm and renders the
verdicts with the same reports as ``twofa run`` (docs/vendor-adapter.md).
"""
