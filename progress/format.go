package progress

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/mattn/go-runewidth"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/flowbar/flowbar/pipeline"
)

// padLeft right-aligns s in n columns.
func padLeft(s string, n int) string {
	if w := runewidth.StringWidth(s); w < n {
		return strings.Repeat(" ", n-w) + s
	}
	return s
}

func formatAmount(n int64, u pipeline.Unit) string {
	if u == pipeline.Bytes {
		if n < 1024 {
			return fmt.Sprintf("%d B", n)
		}
		return fmt.Sprintf("% .1f", decor.SizeB1024(n))
	}
	return fmt.Sprint(n)
}

func formatRate(r float64, u pipeline.Unit) string {
	if math.IsNaN(r) || math.IsInf(r, 0) || r < 0 {
		r = 0
	}
	if u == pipeline.Bytes {
		if r < 1024 {
			return fmt.Sprintf("%.0f B/s", r)
		}
		return fmt.Sprintf("% .1f", decor.FmtAsSpeed(decor.SizeB1024(math.Round(r))))
	}
	name := string(u)
	if u == pipeline.Items {
		name = "items"
	}
	switch {
	case r >= 1e6:
		return fmt.Sprintf("%.2fM %s/s", r/1e6, name)
	case r >= 1e4:
		return fmt.Sprintf("%.1fk %s/s", r/1e3, name)
	case r >= 100:
		return fmt.Sprintf("%.0f %s/s", r, name)
	}
	return fmt.Sprintf("%.1f %s/s", r, name)
}

// formatDuration prints d rounded to a readable precision: 850ms, 4.2s,
// 1m05s, 2h03m.
func formatDuration(d time.Duration) string {
	switch {
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < 10*time.Second:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Round(time.Second).Seconds()))
	case d < time.Hour:
		d = d.Round(time.Second)
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	d = d.Round(time.Minute)
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}

// cutLeft keeps the last columns of s that fit in w, marking the cut with
// "…". Control characters become spaces so a description cannot break the
// layout.
func cutLeft(s string, w int) string {
	if strings.ContainsAny(s, "\n\r\t\x1b") {
		s = strings.Map(func(r rune) rune {
			if r < ' ' || r == 0x7f {
				return ' '
			}
			return r
		}, s)
	}
	if runewidth.StringWidth(s) <= w {
		return s
	}
	rs := []rune(s)
	width := 1 // the ellipsis
	i := len(rs)
	for i > 0 {
		rw := runewidth.RuneWidth(rs[i-1])
		if width+rw > w {
			break
		}
		width += rw
		i--
	}
	return "…" + string(rs[i:])
}
