// Command fetchurls fetches a list of URLs on a few workers, as a crawler or
// an API client would: each request has a timeout, a failed one is retried
// with a backoff, and all the workers together keep to a rate limit. The
// bodies are collected by URL and the URLs that could not be fetched are
// listed with their errors; a live bar shows the fetches, the retries among
// them ("N retried") and the last URL done.
//
//	go run ./examples/fetchurls [-n 40] [-workers 8] [-rate 100] [-timeout 200ms]
//
// With no URLs on the command line it fetches from a local test server
// (net/http/httptest), so it runs offline: some of its pages fail twice
// with 503 before they succeed, some are too slow for the timeout every
// time, some are missing (404, not retried), the rest answer after a few
// milliseconds. Give URLs as arguments to fetch those instead.
//
// The exit status is 0 when every URL was fetched, 1 when some were not,
// 130 on Ctrl-C (the run stops at once, even during a backoff or a wait
// for the rate limit). Against the test server, whose failures are staged,
// it is 0 when exactly the staged pages failed, each for its reason.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/progress"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

func main() {
	n := flag.Int("n", 40, "pages to fetch from the local test server")
	workers := flag.Int("workers", 8, "requests at once")
	perSecond := flag.Float64("rate", 100, "requests per second, all workers together")
	burst := flag.Int("burst", 10, "requests allowed at once above the rate")
	timeout := flag.Duration("timeout", 200*time.Millisecond, "time limit of one request")
	attempts := flag.Int("attempts", 3, "tries per URL")
	quiet := flag.Bool("q", false, "no progress")
	flag.Parse()

	// Ctrl-C cancels ctx; a second one kills the program at once.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	context.AfterFunc(ctx, stop)

	cfg := config{
		workers: *workers, perSecond: *perSecond, burst: *burst,
		timeout: *timeout, attempts: *attempts, show: !*quiet,
	}
	var code int
	if urls := flag.Args(); len(urls) > 0 {
		code, _ = run(ctx, urls, cfg, os.Stdout, os.Stderr)
	} else {
		code = demo(ctx, *n, cfg)
	}
	stop()
	os.Exit(code)
}

// demo fetches n pages from a local flaky server and checks that exactly
// the pages it fails on purpose failed, each for its reason.
func demo(ctx context.Context, n int, cfg config) int {
	srv := httptest.NewServer(newFlakyServer())
	defer srv.Close()
	var urls []string
	for i := range n {
		urls = append(urls, fmt.Sprintf("%s/page/%d", srv.URL, i))
	}
	code, failed := run(ctx, urls, cfg, os.Stdout, os.Stderr)
	if code == 130 {
		return code
	}
	if msg := checkStaged(urls, failed, cfg.attempts); msg != "" {
		fmt.Fprintln(os.Stderr, "fetchurls: unexpected outcome:", msg)
		return 1
	}
	fmt.Fprintln(os.Stderr, "fetchurls: the test server's staged failures, as expected")
	return 0
}

// checkStaged returns what differs between the failures and those the
// flaky server stages (see newFlakyServer), or "".
func checkStaged(urls []string, failed map[string]error, attempts int) string {
	var bad []string
	for i, url := range urls {
		err := failed[url]
		var re *stage.RetryError
		var se *statusError
		switch {
		case i%11 == 5: // too slow every time
			if !errors.As(err, &re) || re.Attempts != attempts || !errors.Is(err, context.DeadlineExceeded) {
				bad = append(bad, fmt.Sprintf("page %d: %v, want a timeout after %d attempts", i, err, attempts))
			}
		case i%13 == 12: // missing: a 404 is not retried
			if !errors.As(err, &re) || re.Attempts != 1 || !errors.As(err, &se) || se.code != http.StatusNotFound {
				bad = append(bad, fmt.Sprintf("page %d: %v, want 404 after 1 attempt", i, err))
			}
		case err != nil:
			bad = append(bad, fmt.Sprintf("page %d: %v", i, err))
		}
	}
	return strings.Join(bad, "; ")
}

type config struct {
	workers   int
	perSecond float64
	burst     int
	timeout   time.Duration
	attempts  int
	show      bool
}

// statusError is an HTTP status other than 200.
type statusError struct{ code int }

func (e *statusError) Error() string {
	return fmt.Sprintf("%d %s", e.code, http.StatusText(e.code))
}

// retryable says which failures are worth another try: network errors,
// timeouts and 5xx answers; not a 4xx, which will not change.
func retryable(err error) bool {
	var se *statusError
	if errors.As(err, &se) {
		return se.code >= 500
	}
	return stage.DefaultRetryable(err)
}

// fetch gets url's body. The request carries ctx, whose deadline is the
// stage's timeout, so a slow server is cut off.
func fetch(ctx context.Context, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", &statusError{resp.StatusCode}
	}
	return string(body), nil
}

// run fetches urls and prints the bodies by URL to stdout, and the
// failures and progress to stderr; it returns the exit status and the
// failures by URL.
func run(ctx context.Context, urls []string, cfg config, stdout, stderr io.Writer) (code int, failed map[string]error) {
	opts := []pipeline.Option{pipeline.WithContinueOnError()} // one bad URL does not stop the rest
	out := stdout
	if cfg.show {
		board := progress.New(progress.WithOutput(stderr))
		opts = append(opts, pipeline.WithObserver(board))
		if stdout == os.Stdout {
			out = board.Stdout() // lines above the bars when both are the terminal
		} else {
			out = board.Through(stdout)
		}
	}
	p := pipeline.New(opts...)
	pages := stage.Map(stage.FromSlice(p, urls, stage.WithName("urls")), fetch,
		stage.WithWorkers(cfg.workers),
		stage.WithRetry(cfg.attempts, retryable),
		stage.WithBackoff(20*time.Millisecond, 200*time.Millisecond),
		stage.WithTimeout(cfg.timeout),
		stage.WithRate(cfg.perSecond, cfg.burst),
	).Describe(func(url, _ string) string { return url })

	bodies, err := sink.ByInput(ctx, pages) // map[url]body
	for _, url := range slices.Sorted(maps.Keys(bodies)) {
		fmt.Fprintf(out, "%s: %q\n", url, bodies[url])
	}
	if ctx.Err() != nil {
		fmt.Fprintf(stderr, "fetchurls: interrupted: %d of %d fetched\n", len(bodies), len(urls))
		return 130, nil
	}
	failures := pipeline.ItemErrors[string](err)
	slices.SortFunc(failures, func(a, b *pipeline.ItemError[string]) int { return strings.Compare(a.Input, b.Input) })
	failed = map[string]error{}
	for _, ie := range failures {
		fmt.Fprintf(stderr, "fetchurls: %s: %v\n", ie.Input, ie.Err)
		failed[ie.Input] = ie.Err
	}
	if len(failures) == 0 && err != nil {
		fmt.Fprintf(stderr, "fetchurls: %v\n", err)
		return 1, failed
	}
	retried := p.Stages()[1].Counts().Retries
	fmt.Fprintf(stderr, "fetchurls: %d of %d fetched, %d failed, %d retries\n", len(bodies), len(urls), len(failures), retried)
	if len(failures) > 0 {
		return 1, failed
	}
	return 0, failed
}

// newFlakyServer serves /page/N: page N fails twice with 503 before it
// answers when N%7 == 3, never answers in time when N%11 == 5, is missing
// when N%13 == 12, and otherwise answers after a few milliseconds.
func newFlakyServer() http.Handler {
	var mu sync.Mutex
	tries := map[int]int{}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/page/"))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		mu.Lock()
		tries[i]++
		try := tries[i]
		mu.Unlock()
		delay := time.Duration(5+i%4*5) * time.Millisecond
		switch {
		case i%11 == 5:
			delay = time.Minute // cut off by the client's timeout
		case i%13 == 12:
			http.NotFound(w, r)
			return
		case i%7 == 3 && try <= 2:
			http.Error(w, "busy, try again", http.StatusServiceUnavailable)
			return
		}
		select {
		case <-time.After(delay):
			fmt.Fprintf(w, "page %d", i)
		case <-r.Context().Done():
		}
	})
}
