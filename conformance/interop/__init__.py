"""``twofa interop``: real servers' credentials handed to real apps, each pair judged.

- ``judge``: a cell's verdict and the side at fault, by the standards;
- ``engine``: servers and their parameter sets, apps, controlled time, the probes;
- ``log``: the result log (a check per cell, findings);
- ``command``: the ``twofa interop`` command.
"""
