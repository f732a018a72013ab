package main

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/flowbar/flowbar/internal/termtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Against the flaky server, with one worker and many: the staged pages
// fail for their reasons, every other page is fetched (some after
// retries), and the bodies are printed by URL.
func TestFetchStaged(t *testing.T) {
	for _, workers := range []int{1, 8} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			srv := httptest.NewServer(newFlakyServer())
			defer srv.Close()
			var urls []string
			for i := range 30 {
				urls = append(urls, fmt.Sprintf("%s/page/%d", srv.URL, i))
			}
			var stdout, stderr strings.Builder
			cfg := config{workers: workers, perSecond: 1000, burst: 10, timeout: 300 * time.Millisecond, attempts: 3}
			code, failed := run(context.Background(), urls, cfg, &stdout, &stderr)
			if code != 1 {
				t.Errorf("exit status %d, want 1 (some pages fail)", code)
			}
			if msg := checkStaged(urls, failed, cfg.attempts); msg != "" {
				t.Error(msg)
			}
			for i, url := range urls {
				line := fmt.Sprintf("%s: %q\n", url, fmt.Sprintf("page %d", i))
				if got := strings.Contains(stdout.String(), line); got == (failed[url] != nil) {
					t.Errorf("page %d printed %v, failed %v", i, got, failed[url])
				}
			}
			// Pages 3, 10, 17 and 24 fail twice before they answer; 5, 16
			// and 27 time out three times: 14 retries, more if a page
			// that answers in milliseconds ran past the limit on a loaded
			// machine.
			var fetched, total, nfailed, retries int
			last := stderr.String()[strings.LastIndex(strings.TrimSuffix(stderr.String(), "\n"), "\n")+1:]
			if _, err := fmt.Sscanf(last, "fetchurls: %d of %d fetched, %d failed, %d retries", &fetched, &total, &nfailed, &retries); err != nil ||
				fetched != 25 || total != 30 || nfailed != 5 || retries < 14 {
				t.Errorf("summary %q (%v), want 25 of 30 fetched, 5 failed, 14 retries or more", last, err)
			}
		})
	}
}

// The program as a user runs it, on a terminal: the bar ends done with
// the retries counted, the bodies above it, exit status 0.
func TestOnATerminal(t *testing.T) {
	exe := termtest.Build(t, ".")
	term := termtest.Start(t, exec.Command(exe, "-n", "20"), 120, 40)
	if code := term.Wait(t, time.Minute); code != 0 {
		t.Fatalf("exit status %d; screen:\n%s", code, term.Screen())
	}
	s := term.Screen().String()
	t.Logf("screen:\n%s", s)
	for _, want := range []string{`/page/0: "page 0"`, "retried", "fetchurls: the test server's staged failures, as expected", "after 3 attempts: timed out after 200ms"} {
		if !strings.Contains(s, want) {
			t.Errorf("screen lacks %q:\n%s", want, s)
		}
	}
}
