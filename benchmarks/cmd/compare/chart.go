package main

import (
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/flowbar/flowbar/benchmarks/workloads"
)

// palette has one distinct color per implementation, whichever are run;
// flowbar's are the reds, its bars outlined in black.
var palette = map[string]color.Color{
	workloads.Chan:            color.RGBA{R: 0x4e, G: 0x79, B: 0xa7, A: 0xff},
	workloads.ChanBatch:       color.RGBA{R: 0xa0, G: 0xcb, B: 0xe8, A: 0xff},
	workloads.Errgroup:        color.RGBA{R: 0xf2, G: 0x8e, B: 0x2b, A: 0xff},
	workloads.ConcPool:        color.RGBA{R: 0xff, G: 0xbe, B: 0x7d, A: 0xff},
	workloads.ConcStream:      color.RGBA{R: 0x9c, G: 0x75, B: 0x5f, A: 0xff},
	workloads.ConcIter:        color.RGBA{R: 0xd4, G: 0xa6, B: 0xc8, A: 0xff},
	workloads.Flowbar:         color.RGBA{R: 0xe1, G: 0x57, B: 0x59, A: 0xff},
	workloads.FlowbarSlice:    color.RGBA{R: 0xe1, G: 0x57, B: 0x59, A: 0xff},
	workloads.FlowbarGenerate: color.RGBA{R: 0xb0, G: 0x2a, B: 0x30, A: 0xff},
	workloads.FlowbarFromChan: color.RGBA{R: 0xf0, G: 0x8a, B: 0x80, A: 0xff},
	workloads.FlowbarMapStage: color.RGBA{R: 0x7a, G: 0x10, B: 0x20, A: 0xff},
	workloads.Floor:           color.RGBA{R: 0xba, G: 0xb0, B: 0xac, A: 0xff},
	workloads.Loop:            color.RGBA{R: 0x76, G: 0xb7, B: 0xb2, A: 0xff},
	workloads.Split:           color.RGBA{R: 0xb0, G: 0x9a, B: 0xd6, A: 0xff},
	workloads.Chunked:         color.RGBA{R: 0x6b, G: 0x8e, B: 0xcf, A: 0xff},
	workloads.Lookahead:       color.RGBA{R: 0x2f, G: 0x5f, B: 0x5a, A: 0xff},
	workloads.ProgressOff:     color.RGBA{R: 0x59, G: 0xa1, B: 0x4f, A: 0xff},
	workloads.ProgressOn:      color.RGBA{R: 0xed, G: 0xc9, B: 0x48, A: 0xff},
}

// clip is the highest ratio the chart's axis shows: taller bars stop there,
// crossed by a white band, with their value written above. The axis is
// linear so that the range where implementations compete, 0.3 to 1.1, takes
// half its height instead of the bottom eighth.
const clip = 1.5

// writeChart draws, for every family, one bar per implementation with its
// ratio to the family's reference, and saves the chart to path, or to a
// new temporary file if path is empty; the extension chooses the format
// (.png, .svg, .pdf). It returns the path written.
func writeChart(path string, results []result) (string, error) {
	if path == "" {
		f, err := os.CreateTemp("", "flowbar-compare-*.png")
		if err != nil {
			return "", fmt.Errorf("chart: %w", err)
		}
		path = f.Name()
		f.Close()
	}
	p := plot.New()
	p.Title.Text = "ns/item ÷ reference in the same run (lower is better; reference = 1; flowbar outlined)"
	p.Y.Label.Text = fmt.Sprintf("ratio to reference (bars above %.1f cut, their value on top)", clip)
	p.Y.Min, p.Y.Max = 0, clip+0.35
	var yTicks []plot.Tick
	for i := 0; float64(i)/10 <= p.Y.Max; i++ {
		t := plot.Tick{Value: float64(i) / 10}
		if i%2 == 0 {
			t.Label = fmt.Sprintf("%.1f", t.Value)
		}
		yTicks = append(yTicks, t)
	}
	p.Y.Tick.Marker = plot.ConstantTicks(yTicks)
	p.Add(plotter.NewGrid())

	slots := 0
	for _, r := range results {
		slots += len(r.f.Impls) + 1
	}
	const width, height, legendWidth = 16 * vg.Inch, 6 * vg.Inch, 2 * vg.Inch
	barWidth := (width - legendWidth) * 0.85 / vg.Length(slots+1) * 0.85

	legend := plot.NewLegend()
	legend.Top, legend.Left = true, true
	legend.TextStyle.Font.Size = vg.Points(9)
	var inLegend []string
	var ticks []plot.Tick
	var labels plotter.XYLabels
	x := 0.0
	for _, r := range results {
		first := x
		for _, impl := range r.f.Impls {
			ratio := r.ratio(impl)
			shown := min(ratio, clip)
			bars, err := plotter.NewBarChart(plotter.Values{shown}, barWidth)
			if err != nil {
				return "", fmt.Errorf("chart: %w", err)
			}
			bars.XMin = x
			bars.Color = palette[impl]
			if bars.Color == nil {
				bars.Color = color.Gray{Y: 128}
			}
			bars.LineStyle.Width = 0
			if workloads.IsFlowbar(impl) {
				bars.LineStyle.Width = vg.Points(1.5)
				bars.LineStyle.Color = color.Black
			}
			p.Add(bars)
			if ratio > clip {
				band, err := plotter.NewLine(plotter.XYs{{X: x - 0.5, Y: clip - 0.12}, {X: x + 0.5, Y: clip - 0.06}})
				if err != nil {
					return "", fmt.Errorf("chart: %w", err)
				}
				band.Color = color.White
				band.Width = vg.Points(3)
				p.Add(band)
			}
			if !slices.Contains(inLegend, impl) {
				inLegend = append(inLegend, impl)
				legend.Add(impl, bars)
			}
			labels.XYs = append(labels.XYs, plotter.XY{X: x, Y: shown + 0.02})
			labels.Labels = append(labels.Labels, fmt.Sprintf("%.2f", ratio))
			x++
		}
		ticks = append(ticks, plot.Tick{Value: (first + x - 1) / 2, Label: strings.Replace(r.f.Name, "-", "\n", 1) + "\nref " + r.f.Reference})
		x++
	}
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	p.X.Tick.Label.Font.Size = vg.Points(8)
	p.X.Min, p.X.Max = -1, x-1

	one := plotter.NewFunction(func(float64) float64 { return 1 })
	one.Color = color.Gray{Y: 96}
	one.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	p.Add(one)

	l, err := plotter.NewLabels(labels)
	if err != nil {
		return "", fmt.Errorf("chart: %w", err)
	}
	for i := range l.TextStyle {
		l.TextStyle[i].Font.Size = vg.Points(7)
		l.TextStyle[i].Rotation = math.Pi / 2
		l.TextStyle[i].XAlign = 0
		l.TextStyle[i].YAlign = -0.5
	}
	p.Add(l)

	c, err := draw.NewFormattedCanvas(width, height, strings.TrimPrefix(filepath.Ext(path), "."))
	if err != nil {
		return "", fmt.Errorf("chart: %w", err)
	}
	dc := draw.New(c)
	p.Draw(draw.Crop(dc, 0, -legendWidth, 0, 0))
	legend.Draw(draw.Crop(dc, width-legendWidth+vg.Points(8), 0, 0, -vg.Points(30)))
	f, err := os.Create(path)
	if err != nil {
		return "", fmt.Errorf("chart: %w", err)
	}
	if _, err := c.WriteTo(f); err != nil {
		f.Close()
		return "", fmt.Errorf("chart: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("chart: %w", err)
	}
	return path, nil
}
