package sink_test

import (
	"context"
	"fmt"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

// Later and Run: one run, several sinks, here the two branches of a tee.
func ExampleRun() {
	p := pipeline.New()
	b := stage.Tee(stage.FromSlice(p, []int{1, 2, 3}), 2)
	squares := sink.Later(stage.Map(b[0], square), sink.ByInput) // *Pending[map[int]int]
	count := sink.Later(b[1], sink.Count)                        // *Pending[int]
	err := sink.Run(context.Background(), p)
	fmt.Println(squares.Value(), count.Value(), err)
	// Output:
	// map[1:1 2:4 3:9] 3 <nil>
}
