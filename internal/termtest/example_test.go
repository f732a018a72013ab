package termtest_test

import (
	"fmt"

	"github.com/flowbar/flowbar/internal/termtest"
)

// A screen shows what a terminal would: a carriage return goes back to the
// start of the line, so a bar redrawn over itself leaves one line, and a
// line feed only goes down (a terminal's driver adds the carriage return
// before it: the bytes read from a pseudo-terminal have both).
func ExampleScreen() {
	s := termtest.NewScreen(20)
	fmt.Fprint(s, "walk [==  ]  2/4\r")
	fmt.Fprint(s, "walk [====]  4/4\r\n")
	fmt.Fprint(s, "done")
	fmt.Println(s)
	// Output:
	// walk [====]  4/4
	// done
}
