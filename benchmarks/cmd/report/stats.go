package main

import (
	"bytes"
	"fmt"
	"math"
	"slices"

	"golang.org/x/perf/benchfmt"
	"golang.org/x/perf/benchmath"
)

// confidence is the level of the intervals shown, as benchstat uses.
const confidence = 0.95

// results holds every measured value by benchmark (without the GOMAXPROCS
// suffix) and unit (tidied: ns/op becomes sec/op).
type results struct {
	values map[string]map[string][]float64
}

func parse(raw []byte) (*results, error) {
	r := &results{values: map[string]map[string][]float64{}}
	rd := benchfmt.NewReader(bytes.NewReader(raw), "results.txt")
	for rd.Scan() {
		switch rec := rd.Result().(type) {
		case *benchfmt.SyntaxError:
			return nil, rec
		case *benchfmt.Result:
			name := benchName(rec.Name)
			if r.values[name] == nil {
				r.values[name] = map[string][]float64{}
			}
			for _, v := range rec.Values {
				r.values[name][v.Unit] = append(r.values[name][v.Unit], v.Value)
			}
		}
	}
	if err := rd.Err(); err != nil {
		return nil, err
	}
	return r, nil
}

// benchName is the full name without "Benchmark" and the GOMAXPROCS suffix,
// for example "Batching/client=alguna".
func benchName(n benchfmt.Name) string {
	base, parts := n.Parts()
	s := string(base)
	for _, p := range parts {
		if len(p) > 0 && p[0] == '-' {
			continue
		}
		s += string(p)
	}
	return s
}

func (r *results) has(name string) bool { return r.values[name] != nil }

func (r *results) sample(name, unit string) *benchmath.Sample {
	vs := r.values[name][unit]
	if len(vs) == 0 {
		return nil
	}
	return benchmath.NewSample(append([]float64(nil), vs...), &benchmath.DefaultThresholds)
}

// stat is the median of a benchmark's values in one unit with its 95%
// confidence interval, as benchstat computes it (no assumption about the
// distribution).
type stat struct {
	ok     bool
	median float64
	pct    string // half-width of the interval relative to the median, e.g. "3%"
	n      int
}

func (r *results) stat(name, unit string) stat {
	s := r.sample(name, unit)
	if s == nil {
		return stat{}
	}
	sum := benchmath.AssumeNothing.Summary(s, confidence)
	return stat{ok: true, median: sum.Center, pct: sum.PctRangeString(), n: len(s.Values)}
}

// ratio compares two benchmarks in one unit: the ratio of medians a/b and
// the p-value of a Mann-Whitney U test that both samples come from the
// same distribution.
type ratio struct {
	ok    bool
	value float64
	p     float64
	alpha float64
}

func (r *results) ratio(a, b, unit string) ratio {
	sa, sb := r.sample(a, unit), r.sample(b, unit)
	if sa == nil || sb == nil {
		return ratio{}
	}
	ma := benchmath.AssumeNothing.Summary(sa, confidence).Center
	mb := benchmath.AssumeNothing.Summary(sb, confidence).Center
	if mb == 0 {
		return ratio{}
	}
	c := benchmath.AssumeNothing.Compare(sa, sb)
	return ratio{ok: true, value: ma / mb, p: c.P, alpha: c.Alpha}
}

// significant reports whether the two samples differ at the test's alpha.
func (q ratio) significant() bool { return q.p <= q.alpha }

func (q ratio) String() string {
	if !q.ok {
		return "n/a"
	}
	s := fmt.Sprintf("%.2f×", q.value)
	if !q.significant() {
		s += fmt.Sprintf(" (not significant, p=%.2f)", q.p)
	}
	return s
}

// max returns the largest value of a benchmark in one unit over all runs,
// or 0 when there is none.
func (r *results) max(name, unit string) float64 {
	vs := r.values[name][unit]
	if len(vs) == 0 {
		return 0
	}
	return slices.Max(vs)
}

// Formatting of values for the tables.

func fmtRatio(v float64) string { return fmt.Sprintf("%.2f×", v) }

func fmtPercent(v float64) string { return fmt.Sprintf("%.1f%%", v) }

func fmtPercentOf(v float64) string { return fmt.Sprintf("%.0f%%", 100*v) }

func fmtSeconds(v float64) string { return fmt.Sprintf("%.2f s", v) }

func fmtDuration(sec float64) string {
	switch ns := sec * 1e9; {
	case ns < 1e3:
		return fmt.Sprintf("%.0f ns", ns)
	case ns < 1e6:
		return fmt.Sprintf("%.2f µs", ns/1e3)
	case ns < 1e9:
		return fmt.Sprintf("%.2f ms", ns/1e6)
	default:
		return fmt.Sprintf("%.2f s", ns/1e9)
	}
}

func fmtBytes(b float64) string {
	switch {
	case b < 1024:
		return fmt.Sprintf("%.0f B", b)
	case b < 1<<20:
		return fmt.Sprintf("%.1f KiB", b/1024)
	default:
		return fmt.Sprintf("%.1f MiB", b/(1<<20))
	}
}

func fmtRate(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2f M", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.1f k", v/1e3)
	default:
		return fmt.Sprintf("%.0f", v)
	}
}

func fmtCount(v float64) string {
	if v == math.Trunc(v) || v >= 100 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

// widest returns the benchmark and unit with the widest confidence interval
// relative to the median, among the units shown as times and rates.
func (r *results) widest() (name, unit string, pct float64) {
	for n, units := range r.values {
		for _, u := range []string{"sec/op", "events/s"} {
			if _, ok := units[u]; !ok {
				continue
			}
			sum := benchmath.AssumeNothing.Summary(r.sample(n, u), confidence)
			if sum.Center == 0 || math.IsInf(sum.Lo, 0) || math.IsInf(sum.Hi, 0) {
				continue
			}
			p := 100 * math.Max(sum.Hi/sum.Center-1, 1-sum.Lo/sum.Center)
			if p > pct || (p == pct && n < name) {
				name, unit, pct = n, u, p
			}
		}
	}
	return name, unit, pct
}
