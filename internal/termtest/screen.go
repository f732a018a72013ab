package termtest

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/mattn/go-runewidth"
)

// Screen is a terminal screen of a fixed width and unbounded height: what
// scrolls off the top stays, as in a terminal's scrollback. It is not safe
// for concurrent use.
type Screen struct {
	width    int
	lines    [][]rune
	row, col int
	pending  []byte // an incomplete escape sequence or UTF-8 rune
	// Wraps counts the lines that were longer than the screen and wrapped.
	Wraps int
	// Unknown lists the escape sequences the screen did not interpret.
	Unknown []string
}

// NewScreen returns an empty screen width columns wide.
func NewScreen(width int) *Screen {
	return &Screen{width: width, lines: [][]rune{nil}}
}

// Resize changes the screen's width, as a terminal window does; the lines
// already on it are kept as they are.
func (s *Screen) Resize(width int) { s.width = width }

// Write interprets p.
func (s *Screen) Write(p []byte) (int, error) {
	data := append(s.pending, p...)
	s.pending = nil
	for i := 0; i < len(data); {
		c := data[i]
		switch {
		case c == '\x1b':
			n, ok := s.escape(data[i:])
			if !ok {
				s.pending = append([]byte(nil), data[i:]...)
				return len(p), nil
			}
			i += n
		case c == '\r':
			s.col = 0
			i++
		case c == '\n':
			s.down()
			i++
		case c == '\b':
			s.col = max(s.col-1, 0)
			i++
		case c == '\t':
			s.col = min((s.col/8+1)*8, s.width-1)
			i++
		case c < ' ' || c == 0x7f:
			i++ // other controls (a bell) show nothing
		default:
			if !utf8.FullRune(data[i:]) {
				s.pending = append([]byte(nil), data[i:]...)
				return len(p), nil
			}
			r, n := utf8.DecodeRune(data[i:])
			s.put(r)
			i += n
		}
	}
	return len(p), nil
}

func (s *Screen) down() {
	s.row++
	for len(s.lines) <= s.row {
		s.lines = append(s.lines, nil)
	}
}

// put writes r at the cursor, wrapping first if the cursor is past the
// last column.
func (s *Screen) put(r rune) {
	w := runewidth.RuneWidth(r)
	if s.col+w > s.width {
		s.Wraps++
		s.down()
		s.col = 0
	}
	line := s.lines[s.row]
	for len(line) < s.col+w {
		line = append(line, ' ')
	}
	line[s.col] = r
	for k := 1; k < w; k++ {
		line[s.col+k] = 0 // the second column of a wide rune
	}
	s.lines[s.row] = line
	s.col += w
}

// escape interprets the escape sequence at the start of p and returns its
// length, or false if p holds only part of it.
func (s *Screen) escape(p []byte) (int, bool) {
	if len(p) < 2 {
		return 0, false
	}
	if p[1] != '[' {
		return 2, true // ESC 7, ESC 8 and the like: not used by bars
	}
	end := 2
	for end < len(p) && (p[end] < 0x40 || p[end] > 0x7e) {
		end++
	}
	if end == len(p) {
		return 0, false
	}
	params, final := string(p[2:end]), p[end]
	n := 1
	if v, err := strconv.Atoi(params); err == nil && v > 0 {
		n = v
	}
	switch final {
	case 'A':
		s.row = max(s.row-n, 0)
	case 'B':
		for range n {
			s.down()
		}
	case 'C':
		s.col = min(s.col+n, s.width-1)
	case 'D':
		s.col = max(s.col-n, 0)
	case 'G':
		s.col = min(n-1, s.width-1)
	case 'J': // erase below (0) or all (2)
		if params == "" || params == "0" {
			s.eraseLine()
			s.lines = s.lines[:s.row+1]
		} else {
			s.lines = [][]rune{nil}
			s.row, s.col = 0, 0
		}
	case 'K':
		s.eraseLine()
	case 'm', 'l', 'h':
		// colours, showing and hiding the cursor: nothing to see here
	default:
		s.Unknown = append(s.Unknown, strconv.Quote(string(p[:end+1])))
	}
	return end + 1, true
}

// eraseLine erases the cursor's line from the cursor on.
func (s *Screen) eraseLine() {
	if line := s.lines[s.row]; len(line) > s.col {
		s.lines[s.row] = line[:s.col]
	}
}

// Lines returns the screen's lines without trailing spaces, and without
// the empty lines at the bottom.
func (s *Screen) Lines() []string {
	var out []string
	for _, l := range s.lines {
		out = append(out, strings.TrimRight(strings.ReplaceAll(string(l), "\x00", ""), " "))
	}
	for len(out) > 0 && out[len(out)-1] == "" {
		out = out[:len(out)-1]
	}
	return out
}

// String returns the lines joined by newlines.
func (s *Screen) String() string { return strings.Join(s.Lines(), "\n") }
