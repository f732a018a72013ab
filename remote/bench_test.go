package remote_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/remote"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

// BenchmarkRoundTrip measures the full trip of small items (durable
// publish, delivery to one of two worker processes, result publish,
// acknowledgement, collection into a map) at 1, 10 and 100 items per
// message (and at 100 with the job's streams in memory), in items/s.
func BenchmarkRoundTrip(b *testing.B) {
	s := startServer(b)
	nc := connect(b, s)
	startWorkers(b, s, "ident", "", 2)
	waitServing(b, nc, "ident", 2)
	for _, tc := range []struct {
		batch  int
		memory bool
	}{{1, false}, {10, false}, {100, false}, {100, true}} {
		n := max(5000, 2000*tc.batch)
		name := fmt.Sprintf("batch=%d", tc.batch)
		opts := []remote.Option{remote.WithBatchSize(tc.batch)}
		if tc.memory {
			name += "/memory"
			opts = append(opts, remote.WithMemoryStorage())
		}
		b.Run(name, func(b *testing.B) {
			xs := inputs(n)
			var items int
			start := time.Now()
			for b.Loop() {
				p := pipeline.New()
				got, err := sink.ByInput(context.Background(), remote.Map(stage.FromSlice(p, xs), nc, "ident", ident, opts...))
				if err != nil || len(got) != n {
					b.Fatalf("%d results, err %v", len(got), err)
				}
				items += n
			}
			b.ReportMetric(float64(items)/time.Since(start).Seconds(), "items/s")
		})
	}
}

// BenchmarkKilledWorker measures how long a run takes to finish after one
// of three worker processes is killed (SIGKILL) at a quarter of the
// results, with AckWait 1s: the killed worker's messages are redelivered
// after AckWait, so the figure is about AckWait plus the rest of the work.
func BenchmarkKilledWorker(b *testing.B) {
	const n = 20_000
	s := startServer(b)
	nc := connect(b, s)
	var after, total time.Duration
	var retries int64
	for b.Loop() {
		b.StopTimer()
		ps := startWorkers(b, s, "ident", "", 3)
		waitServing(b, nc, "ident", 3)
		b.StartTimer()
		p := pipeline.New()
		var done atomic.Int64
		var killed time.Time
		start := time.Now()
		out := stage.OnDone(remote.Map(stage.FromSlice(p, inputs(n)), nc, "ident", ident,
			remote.WithBatchSize(100), remote.WithAckWait(time.Second), remote.WithHeartbeat(200*time.Millisecond)),
			func(int, int, error) {
				if done.Add(1) == n/4 {
					killed = time.Now()
					_ = ps[0].cmd.Process.Kill()
				}
			})
		got, err := sink.ByInput(context.Background(), out)
		if err != nil || len(got) != n {
			b.Fatalf("%d results, err %v", len(got), err)
		}
		after += time.Since(killed)
		total += time.Since(start)
		retries += remoteCounts(p, "ident").Retries
		b.StopTimer()
		for _, p := range ps[1:] {
			_ = p.cmd.Process.Kill()
		}
		b.StartTimer()
	}
	b.ReportMetric(after.Seconds()/float64(b.N), "s-after-kill/run")
	b.ReportMetric(total.Seconds()/float64(b.N), "s/run")
	b.ReportMetric(float64(retries)/float64(b.N), "retried/run")
}
