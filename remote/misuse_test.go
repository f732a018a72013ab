package remote_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/remote"
	"github.com/flowbar/flowbar/stage"
)

// TestMisuse: bad arguments panic when the stage is built (or Serve is
// called), with a "remote:" message saying what is wrong.
func TestMisuse(t *testing.T) {
	nc := &nats.Conn{} // never used: every case panics first
	in := func() *pipeline.Stream[int, int] { return stage.FromSlice(pipeline.New(), []int{1}) }
	ctx := context.Background()
	for _, tc := range []struct {
		name, want string
		fn         func()
	}{
		{"nil conn", "remote: Map: connection is nil", func() { remote.Map(in(), nil, "s", square) }},
		{"nil func", "remote: Map: function is nil", func() { remote.Map[int, int, int](in(), nc, "s", nil) }},
		{"empty name", "remote: Map: the stage name is empty", func() { remote.Map(in(), nc, "", square) }},
		{"bad name", `remote: Map: stage name "a.b"`, func() { remote.Map(in(), nc, "a.b", square) }},
		{"serve option", "remote: Map does not take WithWorkers", func() { remote.Map(in(), nc, "s", square, remote.WithWorkers(2)) }},
		{"map option", "remote: Serve does not take WithBatchSize", func() { _ = remote.Serve(ctx, nc, "s", square, remote.WithBatchSize(2)) }},
		{"nil option", "remote: Map: nil option", func() { remote.Map(in(), nc, "s", square, nil) }},
		{"serve nil conn", "remote: Serve: connection is nil", func() { _ = remote.Serve(ctx, nil, "s", square) }},
		{"serve nil func", "remote: Serve: function is nil", func() { _ = remote.Serve[int, int](ctx, nc, "s", nil) }},
		{"batch", "remote: WithBatchSize: 0 is less than 1", func() { remote.WithBatchSize(0) }},
		{"window", "remote: WithWindow: 0 is less than 1", func() { remote.WithWindow(0) }},
		{"ack wait", "remote: WithAckWait: 10ms is less than 100ms", func() { remote.WithAckWait(10 * time.Millisecond) }},
		{"max deliver", "remote: WithMaxDeliver: 0 is less than 1", func() { remote.WithMaxDeliver(0) }},
		{"workers", "remote: WithWorkers: 0 is less than 1", func() { remote.WithWorkers(0) }},
		{"in flight", "remote: WithInFlight: 0 is less than 1", func() { remote.WithInFlight(0) }},
		{"heartbeat", "remote: WithHeartbeat: 0s is not positive", func() { remote.WithHeartbeat(0) }},
		{"codec", "remote: WithCodec: codec is nil", func() { remote.WithCodec(nil) }},
		{"consumed", "pipeline:", func() {
			s := in()
			stage.Map(s, square)
			remote.Map(s, nc, "s", square)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if msg, _ := r.(string); !strings.HasPrefix(msg, tc.want) {
					t.Errorf("panic %v, want one starting %q", r, tc.want)
				}
			}()
			tc.fn()
		})
	}
}
