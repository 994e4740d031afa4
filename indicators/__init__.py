"""Pure indicator maths for posyandu-sync: no database, no web framework.

* `indicators.anthro` - WHO Child Growth Standards z-scores reproducing WHO's
  anthro R package 1.1 (`child_zscores` for one child, `compute_zscores` for
  arrays), with the WHO tables in `indicators/data/`.
* `indicators.categories` - Permenkes 2/2020 categories (BB/U, PB/U-TB/U,
  BB/PB-BB/TB, IMT/U), stunted/wasted/underweight/overweight, baduta/balita.
* `indicators.child` - `assess_child`: both of the above in the one record the
  server stores on a measurement.
* `indicators.maternal` - KEK, anaemia and maternal risk markers.
* `indicators.sanitation` - STBM pillars, jamban sehat, sanitasi layak, and
  Keluarga Risiko Stunting.
* `indicators.plausibility` - flags on a child's series of measurements.
* `indicators.batch` - CSV in, z-scores and categories out (`posyandu-sync zscore`).

The rules and cut-offs are those of DOMAIN.md §3-6.
"""
