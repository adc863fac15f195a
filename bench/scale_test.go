package bench

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A scale-only run replaces the scale section and nothing else; a report
// without one gets it before the analysis.
func TestReplaceScale(t *testing.T) {
	rows := []*ScaleResult{{Name: "1 GB file", Files: 2, Bytes: 1 << 30, N: 2,
		Plat: Sample{Wall: 30 * time.Second, MaxRSS: 90 << 20}, Rsync: Sample{Wall: 20 * time.Second}}}
	section := ScaleMarkdown(rows, "")
	if !strings.Contains(section, "| 1 GB file | 2 | 1024 | 2 | 30.0 | 90 | yes | 20.0 | 1.50 × |") {
		t.Fatalf("section:\n%s", section)
	}
	report := "# plat push benchmark\n\n## N = 10 hosts\n\n| x |\n\n## Analysis\n\ntext\n"
	once := ReplaceScale(report, section)
	if !strings.HasPrefix(once, "# plat push benchmark\n\n## N = 10 hosts\n\n| x |\n\n"+ScaleBegin) || !strings.HasSuffix(once, ScaleEnd+"\n\n## Analysis\n\ntext\n") {
		t.Fatalf("first replace:\n%s", once)
	}
	rows[0].Plat.MaxRSS = 200 << 20
	twice := ReplaceScale(once, ScaleMarkdown(rows, ""))
	if strings.Count(twice, ScaleBegin) != 1 || !strings.Contains(twice, "| 200 | **no** |") || !strings.HasSuffix(twice, "## Analysis\n\ntext\n") {
		t.Fatalf("second replace:\n%s", twice)
	}
}

func TestWriteBigFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "app")
	files, n, err := writeBigFile(dir, 3<<20+5)
	if err != nil || files != 2 {
		t.Fatal(files, err)
	}
	st, err := os.Stat(filepath.Join(dir, "big.bin"))
	if err != nil || st.Size() != 3<<20+5 || n <= st.Size() {
		t.Fatalf("big.bin: %v %v (total %d)", st, err, n)
	}
}
