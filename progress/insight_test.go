package progress

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

func TestTimeSplitPercent(t *testing.T) {
	cases := []struct {
		split    TimeSplit
		want     [3]int
		text     string
		dominant string
	}{
		{TimeSplit{}, [3]int{}, "", ""},
		{TimeSplit{Busy: 1}, [3]int{100, 0, 0}, "busy 100%, idle 0%, blocked 0%", "busy 100%"},
		{TimeSplit{Busy: 1, Idle: 1, Blocked: 1}, [3]int{34, 33, 33}, "busy 34%, idle 33%, blocked 33%", "busy 34%"},
		{TimeSplit{Busy: 0.924, Idle: 0.03, Blocked: 0.046}, [3]int{92, 3, 5}, "busy 92%, idle 3%, blocked 5%", "busy 92%"},
		{TimeSplit{Busy: 0.004, Idle: 0.006, Blocked: 0.99}, [3]int{0, 1, 99}, "busy 0%, idle 1%, blocked 99%", "blocked 99%"},
		{TimeSplit{Busy: 2, Idle: 6}, [3]int{25, 75, 0}, "busy 25%, idle 75%, blocked 0%", "idle 75%"},
	}
	for _, tc := range cases {
		b, i, k := tc.split.Percent()
		if got := [3]int{b, i, k}; got != tc.want {
			t.Errorf("%+v: percent %v, want %v", tc.split, got, tc.want)
		}
		if got := tc.split.String(); got != tc.text {
			t.Errorf("%+v: %q, want %q", tc.split, got, tc.text)
		}
		if got := tc.split.dominant(); got != tc.dominant {
			t.Errorf("%+v: dominant %q, want %q", tc.split, got, tc.dominant)
		}
	}
}

// bottleneck builds a pipeline whose middle stage is the bottleneck: a
// slice of 40 inputs, "prep" (one worker, 10ms an item), "slow" (two
// workers, itemTime an item, longer for big1, big2, big3), "out" (a sink
// that only counts). It returns the run's result channel.
func bottleneck(p *pipeline.Pipeline, itemTime time.Duration) chan error {
	var inputs []string
	for i := range 40 {
		inputs = append(inputs, fmt.Sprintf("f%02d", i))
	}
	inputs[3], inputs[7], inputs[11] = "big1", "big2", "big3"
	big := map[string]time.Duration{"big1": 2100 * time.Millisecond, "big2": 2300 * time.Millisecond, "big3": 2200 * time.Millisecond}
	src := stage.FromSlice(p, inputs, stage.WithName("files"))
	prep := stage.Map(src, func(_ context.Context, s string) (string, error) {
		time.Sleep(10 * time.Millisecond)
		return s, nil
	}, stage.WithName("prep"), stage.WithWorkers(1))
	slow := stage.Map(prep, func(_ context.Context, s string) (int, error) {
		d := itemTime
		if b, ok := big[s]; ok {
			d = b
		}
		time.Sleep(d)
		return len(s), nil
	}, stage.WithName("slow"), stage.WithWorkers(2))
	res := make(chan error, 1)
	go func() {
		_, err := sink.Count(context.Background(), slow, sink.WithName("out"))
		res <- err
	}()
	return res
}

var share = regexp.MustCompile(`^(?:(\d+) in, )?(busy|idle|blocked) (\d+)%$`)

// checkInsight checks that the live column reads "[N in, ]state P%" with
// the state given, P at least minPct and N == in (in -1: no N; -2: any).
func checkInsight(t *testing.T, name, got, state string, minPct, in int) {
	t.Helper()
	m := share.FindStringSubmatch(got)
	if m == nil {
		t.Errorf("%s: insight %q does not read [N in, ]state P%%", name, got)
		return
	}
	pct, _ := strconv.Atoi(m[3])
	if m[2] != state || pct < minPct {
		t.Errorf("%s: insight %q, want %s at least %d%%", name, got, state, minPct)
	}
	if in >= 0 && m[1] != strconv.Itoa(in) {
		t.Errorf("%s: insight %q, want %d in flight", name, got, in)
	}
	if in == -1 && m[1] != "" {
		t.Errorf("%s: insight %q, want no items in flight", name, got)
	}
}

// The stage that holds the run back reads busy, the stage feeding it
// blocked and the sink after it idle, live, both when items end within
// the interval (500ms items, seen ending) and when every item outlasts it
// (3s items: the workers' meters move only when an item ends, and the
// state they are in now fills the interval).
func TestInsightShowsTheBottleneck(t *testing.T) {
	for _, itemTime := range []time.Duration{500 * time.Millisecond, 3 * time.Second} {
		t.Run(itemTime.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ticks := make(chan time.Time)
				board := New(WithOutput(&frames{}), WithTerminal(false), WithTicks(ticks), WithAllStages())
				p := pipeline.New(pipeline.WithObserver(board), pipeline.WithChunkSize(1))
				res := bottleneck(p, itemTime)
				for range 6 {
					time.Sleep(time.Second + 250*time.Millisecond)
					synctest.Wait()
					tick(ticks)
				}
				v := board.views()
				if v[0].insight != "" {
					t.Errorf("files (a slice source): insight %q, want none", v[0].insight)
				}
				checkInsight(t, "prep", v[1].insight, "blocked", 95, 0)
				checkInsight(t, "slow", v[2].insight, "busy", 95, 2)
				checkInsight(t, "out", v[3].insight, "idle", 95, -1)
				if err := <-res; err != nil {
					t.Fatal(err)
				}
			})
		})
	}
}

// The summary gives each stage's split over the run and the slowest items
// with their inputs; the final frame shows the split's largest share.
func TestInsightSummary(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		out := &frames{}
		ticks := make(chan time.Time)
		board := New(WithOutput(out), WithTerminal(true), WithWidth(120), WithTicks(ticks), WithAllStages())
		p := pipeline.New(pipeline.WithObserver(board), pipeline.WithChunkSize(1))
		res := bottleneck(p, 500*time.Millisecond)
		if err := <-res; err != nil {
			t.Fatal(err)
		}
		sum := board.Summary()
		for i, want := range []struct {
			workers int
			split   string // a prefix of the split's text, or "" for none
			slowest string
		}{
			{1, "", ""},
			{1, "busy 5%, idle 0%, blocked 95%", "; slowest: f00 10ms, f01 10ms, f02 10ms"},
			{2, "busy 98%, idle 2%, blocked 0%", "; slowest: big2 2.3s, big3 2.2s, big1 2.1s"},
			{1, "busy 0%, idle 100%, blocked 0%", ""},
		} {
			s := sum[i]
			text := s.String()
			if s.Workers != want.workers {
				t.Errorf("%s: %d workers, want %d", s.Name, s.Workers, want.workers)
			}
			if got := s.TimeSplit().String(); got != want.split {
				t.Errorf("%s: split %q, want %q", s.Name, got, want.split)
			}
			if want.split != "" && !strings.Contains(text, "; "+want.split) {
				t.Errorf("%s: summary %q, want the split %q", s.Name, text, want.split)
			}
			if want.split == "" && strings.Contains(text, "busy") {
				t.Errorf("%s: summary %q, want no split", s.Name, text)
			}
			if want.slowest != "" && !strings.Contains(text, want.slowest) || want.slowest == "" && strings.Contains(text, "slowest") {
				t.Errorf("%s: summary %q, want slowest %q", s.Name, text, want.slowest)
			}
		}
		if s := sum[2]; len(s.Slowest) != 3 || s.Slowest[0].Input != "big2" || s.Slowest[0].Took != 2300*time.Millisecond {
			t.Errorf("slow: slowest %+v", s.Slowest)
		}
		golden(t, "frame-insight-end.txt", out.last())
	})
}

// The live column keeps its width while its figures change, so the bar
// does not move; on a narrow terminal it is the first column to go.
func TestInsightColumn(t *testing.T) {
	for _, width := range []int{120, 70} {
		t.Run(strconv.Itoa(width), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				out := &frames{}
				ticks := make(chan time.Time)
				board := New(WithOutput(out), WithTerminal(true), WithWidth(width), WithTicks(ticks), WithAllStages())
				p := pipeline.New(pipeline.WithObserver(board), pipeline.WithChunkSize(1))
				res := bottleneck(p, 500*time.Millisecond)
				var frames []string
				for range 10 {
					time.Sleep(time.Second + 250*time.Millisecond)
					synctest.Wait()
					tick(ticks)
					frames = append(frames, out.last())
				}
				if err := <-res; err != nil {
					t.Fatal(err)
				}
				if width == 120 {
					golden(t, "frame-insight.txt", frames[4])
				}
				for _, f := range frames {
					lines := strings.Split(strings.TrimSuffix(f, "\n"), "\n")
					if len(lines) != 4 {
						t.Fatalf("frame of %d lines:\n%s", len(lines), f)
					}
					for i, l := range lines {
						if n := len([]rune(l)); n >= width {
							t.Errorf("line %d is %d columns wide at %d:\n%s", i, n, width, l)
						}
					}
					hasInsight := strings.Contains(lines[2], "in, busy") && strings.Contains(lines[1], "blocked")
					if width == 120 && !hasInsight {
						t.Errorf("no insight at %d columns:\n%s", width, f)
					}
					if width == 70 && (strings.Contains(f, "busy") || strings.Contains(f, "blocked") || strings.Contains(f, "idle")) {
						t.Errorf("insight shown at %d columns:\n%s", width, f)
					}
				}
				// The bars' closing brackets stay in one place.
				var ends []int
				for _, f := range frames {
					for _, l := range strings.Split(strings.TrimSuffix(f, "\n"), "\n") {
						ends = append(ends, strings.Index(l, "]"))
					}
				}
				for _, e := range ends {
					if e != ends[0] {
						t.Errorf("bar ends at columns %v: it moved", ends)
						break
					}
				}
			})
		})
	}
}

// A generator source whose next stage holds it back reads blocked even
// while no hand-off ends (the source's time is recorded only as its
// blocked sends end and when it finishes); the stage holding it back
// reads busy.
func TestInsightBlockedSource(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ticks := make(chan time.Time)
		board := New(WithOutput(&frames{}), WithTerminal(false), WithTicks(ticks))
		p := pipeline.New(pipeline.WithObserver(board), pipeline.WithChunkSize(1))
		ctx, cancel := context.WithCancel(context.Background())
		src := stage.Generate(p, func(ctx context.Context, emit func(int) bool) error {
			for i := 0; emit(i); i++ {
			}
			return nil
		}, stage.WithName("gen"))
		work := stage.Map(src, func(ctx context.Context, x int) (int, error) {
			select {
			case <-time.After(10 * time.Second):
			case <-ctx.Done():
			}
			return x, nil
		}, stage.WithName("work"), stage.WithWorkers(1))
		res := make(chan error, 1)
		go func() {
			_, err := sink.Count(ctx, work, sink.WithName("count"))
			res <- err
		}()
		for range 4 {
			time.Sleep(time.Second)
			synctest.Wait()
			tick(ticks)
		}
		v := board.views()
		checkInsight(t, "gen", v[0].insight, "blocked", 99, -1)
		checkInsight(t, "work", v[1].insight, "busy", 99, 1)
		checkInsight(t, "count", v[2].insight, "idle", 99, -1)
		cancel()
		<-res
		if s := board.Summary()[0]; s.TimeSplit().Blocked < 0.99 {
			t.Errorf("gen: split %v, want blocked", s.TimeSplit())
		}
	})
}

// A source that has recorded no time (a generator that never waited on
// the next stage, a channel source, which records none) reads busy when
// the stages it feeds wait for it, and nothing when they do not: a
// channel source cannot tell whether its sender waits.
func TestInsightUntimedSource(t *testing.T) {
	cases := []struct {
		name    string
		source  func(p *pipeline.Pipeline) *pipeline.Stream[int, int]
		work    time.Duration
		want    string // the source's insight
		wantMap string // the state the map reads
	}{
		{"slow generator", func(p *pipeline.Pipeline) *pipeline.Stream[int, int] {
			return stage.Generate(p, func(ctx context.Context, emit func(int) bool) error {
				for i := range 100 {
					time.Sleep(100 * time.Millisecond)
					if !emit(i) {
						return nil
					}
				}
				return nil
			}, stage.WithName("src"))
		}, time.Millisecond, "busy 100%", "idle"},
		{"channel, slow next stage", func(p *pipeline.Pipeline) *pipeline.Stream[int, int] {
			ch := make(chan int, 100)
			for i := range 100 {
				ch <- i
			}
			close(ch)
			return stage.FromChan(p, ch, stage.WithName("src"))
		}, time.Second, "", "busy"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ticks := make(chan time.Time)
				board := New(WithOutput(&frames{}), WithTerminal(false), WithTicks(ticks))
				p := pipeline.New(pipeline.WithObserver(board), pipeline.WithChunkSize(1))
				ctx, cancel := context.WithCancel(context.Background())
				work := stage.Map(tc.source(p), func(ctx context.Context, x int) (int, error) {
					time.Sleep(tc.work)
					return x, nil
				}, stage.WithName("work"), stage.WithWorkers(1))
				res := make(chan error, 1)
				go func() {
					_, err := sink.Count(ctx, work)
					res <- err
				}()
				for range 4 {
					time.Sleep(time.Second)
					synctest.Wait()
					tick(ticks)
				}
				v := board.views()
				if v[0].insight != tc.want {
					t.Errorf("src: insight %q, want %q", v[0].insight, tc.want)
				}
				checkInsight(t, "work", v[1].insight, tc.wantMap, 90, -2)
				cancel()
				<-res
			})
		})
	}
}
