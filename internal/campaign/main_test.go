package campaign

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"testing"

	"go.uber.org/goleak"
)

// defaultCases is the number of generated pipelines a plain test run checks.
const defaultCases = 300

// soak is the number of generated pipelines to check: FLOWBAR_SOAK, or the
// -soak flag, or defaultCases.
var soak = flag.Int("soak", 0, "number of generated pipelines the campaign checks (default FLOWBAR_SOAK or 300)")

// long reports whether the long tests (10,000,000 items) run.
func long() bool { return os.Getenv("FLOWBAR_LONG") != "" }

func TestMain(m *testing.M) {
	flag.Parse()
	n := defaultCases
	if s := os.Getenv("FLOWBAR_SOAK"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			fmt.Fprintf(os.Stderr, "campaign: FLOWBAR_SOAK=%q is not a positive number\n", s)
			os.Exit(2)
		}
		n = v
	}
	if *soak > 0 {
		n = *soak
	}
	explicit := false
	flag.Visit(func(f *flag.Flag) {
		if f.Name == "rapid.checks" {
			explicit = true
		}
	})
	if !explicit && os.Getenv("RAPID_CHECKS") == "" {
		if err := flag.Set("rapid.checks", strconv.Itoa(n)); err != nil {
			panic(err)
		}
	}
	goleak.VerifyTestMain(m)
}
