package progress

import (
	"bytes"
	"io"
	"os"
	"strconv"

	"golang.org/x/term"
)

// FallbackWidth is the width, in columns, bars are drawn at on a terminal
// that reports no size (a pseudo-terminal of 0×0, as script, docker -t and
// some CI runners give).
const FallbackWidth = 80

// console is the terminal side of the bars: mpb renders each frame into
// it and calls Flush, which writes the frame in one write, preceded by what
// puts the cursor back at the start of the previous frame and clears it.
//
// Unlike mpb's own writer it
//   - starts every frame with a carriage return, so that whatever the
//     terminal echoed after the last frame (a "^C") does not shift the
//     next one;
//   - reads the terminal's size on every frame (a resize takes effect at
//     once) and falls back to a width when the terminal reports none,
//     instead of drawing nothing.
//
// mpb calls it from its rendering goroutine only.
type console struct {
	bytes.Buffer
	out      io.Writer
	fd       int  // the terminal's descriptor, when out is one
	tty      bool // out is a terminal
	width    int  // used when the terminal reports no width, or out is none
	previous int  // lines of the previous frame
}

func newConsole(out io.Writer, width int) *console {
	c := &console{out: out, width: width}
	if f, ok := out.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		c.fd, c.tty = int(f.Fd()), true
	}
	return c
}

// IsTerminal tells mpb to render: the board uses a console only when it
// draws bars.
func (c *console) IsTerminal() bool { return true }

// GetTermSize returns the terminal's size, or the fallback width (and room
// for every bar) when it has none.
func (c *console) GetTermSize() (width, height int, err error) {
	if c.tty {
		w, h, err := term.GetSize(c.fd)
		if err == nil && w > 0 {
			if h <= 0 {
				h = 1 << 16
			}
			return w, h, nil
		}
	}
	return c.width, 1 << 16, nil
}

// Flush writes the frame in the buffer, after moving up over the previous
// frame and clearing it; lines is the number of lines of this frame.
func (c *console) Flush(lines int) error {
	var frame bytes.Buffer
	frame.Grow(c.Len() + 16)
	frame.WriteByte('\r')
	if c.previous > 0 {
		frame.WriteString("\x1b[")
		frame.WriteString(strconv.Itoa(c.previous))
		frame.WriteString("A")
	}
	frame.WriteString("\x1b[J")
	frame.Write(c.Bytes())
	c.Reset()
	c.previous = lines
	_, err := c.out.Write(frame.Bytes())
	return err
}
