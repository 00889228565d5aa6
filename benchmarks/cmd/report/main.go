// Command report runs the side-by-side benchmarks of this module and writes
// BENCHMARKS.md at the root of the repository, with the raw benchmark output
// in benchmarks/results.txt (for benchstat) and the machine and run
// information in benchmarks/results.json. The hand-written analysis in
// benchmarks/analysis.md, if present, ends the report; -rerender rewrites the
// report from the saved files without measuring again.
//
// Run it from the root of the repository:
//
//	go -C benchmarks run ./cmd/report
//
// or, equivalently, from benchmarks/: go run ./cmd/report.
//
// It builds the test binary once, then runs every comparison -count times,
// interleaved (one pass runs each comparison once), so that a change in the
// machine's load during the run spreads over all of them rather than
// landing on one.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// reproduce is the command documented in the report.
const reproduce = "go -C benchmarks run ./cmd/report"

func main() {
	log.SetFlags(0)
	log.SetPrefix("report: ")
	var o options
	flag.IntVar(&o.count, "count", 8, "runs of each benchmark")
	flag.IntVar(&o.events, "events", 200000, "events each batching client sends per run")
	flag.StringVar(&o.benchtime, "benchtime", "500ms", "benchtime of the per-call and webhook benchmarks")
	flag.Float64Var(&o.maxLoad, "max-load", 0, "wait until the 1-minute load average is at most this before starting (0: do not wait)")
	flag.DurationVar(&o.maxWait, "max-wait", 15*time.Minute, "longest wait for -max-load")
	flag.StringVar(&o.out, "out", "", "report to write (default: BENCHMARKS.md at the repository root)")
	flag.BoolVar(&o.rerender, "rerender", false, "rewrite the report from the saved results of the last run, without measuring (after editing analysis.md)")
	flag.Parse()
	// An interrupt stops the benchmark binary too, rather than leaving it
	// running without its report.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, o)
	stop()
	if err != nil {
		log.Fatal(err)
	}
}

type options struct {
	count     int
	events    int
	benchtime string
	maxLoad   float64
	maxWait   time.Duration
	out       string
	rerender  bool
}

// group is one comparison: the benchmarks it runs and how long each runs.
type group struct {
	pattern   string
	benchtime string
}

func run(ctx context.Context, o options) error {
	if o.count < 1 || o.events < 1 {
		return errors.New("-count and -events must be positive")
	}
	modDir, err := moduleDir(ctx)
	if err != nil {
		return err
	}
	rootDir := filepath.Dir(modDir)
	if o.out == "" {
		o.out = filepath.Join(rootDir, "BENCHMARKS.md")
	}
	rawPath := filepath.Join(modDir, "results.txt")
	infoPath := filepath.Join(modDir, "results.json")
	if o.rerender {
		return rerender(modDir, rawPath, infoPath, o.out)
	}

	tmp, err := os.MkdirTemp("", "alguna-bench-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(tmp) }()
	bin := filepath.Join(tmp, "benchmarks.test")
	log.Print("building the benchmarks")
	build := command(ctx, modDir, "go", "test", "-c", "-o", bin, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("building benchmarks: %w", err)
	}
	listed, err := output(ctx, modDir, bin, "-test.list", "^Benchmark")
	if err != nil {
		return err
	}
	var groups []group
	for _, name := range strings.Fields(listed) {
		bt := o.benchtime
		switch name {
		case "BenchmarkBatching":
			bt = fmt.Sprintf("%dx", o.events)
		case "BenchmarkRateLimit":
			// One op is one delivery of 5,000 events at 1000 a second.
			bt = "1x"
		}
		groups = append(groups, group{pattern: "^" + name + "$", benchtime: bt})
	}

	if o.maxLoad > 0 {
		waitForLoad(o.maxLoad, o.maxWait)
	}
	info := machine(ctx)
	info.Versions = peerVersions(ctx, modDir)
	info.Commit = commit(ctx, rootDir)
	info.LoadBefore = loadAvg()
	info.Started = time.Now().UTC()

	var raw bytes.Buffer
	for pass := 1; pass <= o.count; pass++ {
		for _, g := range groups {
			info.LoadMax = max(info.LoadMax, load1())
			log.Printf("pass %d/%d: %s (load %s)", pass, o.count, strings.Trim(g.pattern, "^$"), loadAvg())
			out, err := output(ctx, modDir, bin, "-test.run", "^$", "-test.bench", g.pattern,
				"-test.benchmem", "-test.count", "1", "-test.benchtime", g.benchtime)
			if err != nil {
				return fmt.Errorf("%s: %w\n%s", g.pattern, err, out)
			}
			keepResults(&raw, out, pass == 1)
		}
	}
	info.Finished = time.Now().UTC()
	info.LoadMax = max(info.LoadMax, load1())
	info.LoadAfter = loadAvg()

	if err := os.WriteFile(rawPath, raw.Bytes(), 0o644); err != nil { //nolint:gosec // G306: a file of the repository, meant to be read
		return err
	}
	info.Command = reproduce
	info.Events = o.events
	info.Count = o.count
	info.Benchtime = o.benchtime
	info.RawPath = "benchmarks/results.txt"
	saved, err := json.MarshalIndent(info, "", "\t")
	if err != nil {
		return err
	}
	if err := os.WriteFile(infoPath, append(saved, '\n'), 0o644); err != nil { //nolint:gosec // G306: a file of the repository, meant to be read
		return err
	}
	return rerender(modDir, rawPath, infoPath, o.out)
}

// rerender writes the report from saved results and run information.
func rerender(modDir, rawPath, infoPath, out string) error {
	raw, err := os.ReadFile(rawPath) //nolint:gosec // G304: a file of this module
	if err != nil {
		return err
	}
	res, err := parse(raw)
	if err != nil {
		return err
	}
	var in info
	data, err := os.ReadFile(infoPath) //nolint:gosec // G304: a file of this module
	if err == nil {
		err = json.Unmarshal(data, &in)
	}
	if err != nil {
		return fmt.Errorf("run information: %w", err)
	}
	in.modDir = modDir
	if err := os.WriteFile(out, []byte(render(in, res)), 0o644); err != nil { //nolint:gosec // G306: a file of the repository, meant to be read
		return err
	}
	log.Printf("wrote %s from %s", out, rawPath)
	return nil
}

// moduleDir returns the directory of the benchmarks module, which must be
// the module of the working directory.
func moduleDir(ctx context.Context) (string, error) {
	out, err := command(ctx, "", "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	data, err := os.ReadFile(gomod) //nolint:gosec // G304: the path is go's own answer
	if err != nil || !bytes.Contains(data, []byte("module github.com/alguna/alguna-go/benchmarks\n")) {
		return "", fmt.Errorf("run this from the benchmarks module: %s", reproduce)
	}
	return filepath.Dir(gomod), nil
}

// output runs the test binary in dir and returns its standard output.
func output(ctx context.Context, dir, bin string, args ...string) (string, error) {
	cmd := command(ctx, dir, bin, args...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	return string(out), err
}

// keepResults copies benchmark output to w, keeping the configuration
// header only the first time and dropping the PASS/ok trailer.
func keepResults(w *bytes.Buffer, out string, header bool) {
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		isHeader := strings.HasPrefix(line, "goos:") || strings.HasPrefix(line, "goarch:") ||
			strings.HasPrefix(line, "pkg:") || strings.HasPrefix(line, "cpu:")
		switch {
		case isHeader && header, strings.HasPrefix(line, "Benchmark"):
			w.WriteString(line)
			w.WriteByte('\n')
		}
	}
}

// info describes the machine and the run. It is saved beside the raw
// results, so that -rerender can rewrite the report without measuring again.
type info struct {
	CPU, GoVersion, OSArch, Kernel string
	Cores                          int
	LoadBefore, LoadAfter          string
	LoadMax                        float64
	Started, Finished              time.Time
	Commit, Command                string
	Events, Count                  int
	Benchtime, RawPath             string
	// Versions maps each peer module's path to the version compared.
	Versions map[string]string
	modDir   string
}

func machine(ctx context.Context) info {
	i := info{CPU: "unknown", Cores: runtime.NumCPU(), OSArch: runtime.GOOS + "/" + runtime.GOARCH}
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				i.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if out, err := command(ctx, "", "go", "version").Output(); err == nil {
		i.GoVersion = strings.TrimSpace(string(out))
	} else {
		i.GoVersion = runtime.Version()
	}
	if data, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		i.Kernel = strings.TrimSpace(string(data))
	}
	return i
}

// loadAvg returns the 1, 5 and 15-minute load averages.
func loadAvg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func load1() float64 {
	var l float64
	if _, err := fmt.Sscan(loadAvg(), &l); err != nil {
		return 0
	}
	return l
}

func waitForLoad(limit float64, maxWait time.Duration) {
	deadline := time.Now().Add(maxWait)
	for l := load1(); l > limit; l = load1() {
		if time.Now().After(deadline) {
			log.Printf("load %.2f is still above %.2f after %s; running anyway", l, limit, maxWait)
			return
		}
		log.Printf("load %.2f is above %.2f; waiting", l, limit)
		time.Sleep(15 * time.Second)
	}
}

// outputs are the files this command writes or reads as text, which do not
// change what is measured.
var outputs = []string{"BENCHMARKS.md", "benchmarks/results.txt", "benchmarks/results.json", "benchmarks/analysis.md"}

// commit names the commit measured, marked when the tree has changes other
// than to the report's own files.
func commit(ctx context.Context, root string) string {
	out, err := command(ctx, root, "git", "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	c := strings.TrimSpace(string(out))
	args := []string{"status", "--porcelain", "--untracked-files=no", "--", "."}
	for _, o := range outputs {
		args = append(args, ":(exclude)"+o)
	}
	st, err := command(ctx, root, "git", args...).Output()
	if err == nil && len(bytes.TrimSpace(st)) > 0 {
		c += " (with uncommitted changes)"
	}
	return c
}

// peers are the modules compared with alguna-go.
var peers = []string{
	"github.com/posthog/posthog-go",
	"github.com/standard-webhooks/standard-webhooks/libraries",
	"github.com/svix/svix-webhooks",
}

// peerVersions reads the versions of the peers from the benchmarks module.
func peerVersions(ctx context.Context, modDir string) map[string]string {
	v := map[string]string{}
	out, err := command(ctx, modDir, "go", append([]string{"list", "-m", "-f", "{{.Path}} {{.Version}}"}, peers...)...).Output()
	if err != nil {
		return v
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if path, version, ok := strings.Cut(line, " "); ok {
			v[path] = version
		}
	}
	return v
}

// command prepares a program to run in dir ("" for the working directory),
// stopped when ctx ends.
func command(ctx context.Context, dir, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...) //nolint:gosec // G204: runs go, git and the test binary built here, with arguments of this command's own
	cmd.Dir = dir
	return cmd
}
