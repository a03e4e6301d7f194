package featureset

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDecode(t *testing.T) {
	s, err := Decode([]byte(`apiVersion: kubeline.io/v1alpha1
kind: FeatureSet
metadata: {name: customers}
spec:
  group: vision
  description: cleaned rows
  datasets: [dataset://raw@v1]
  features:
  - {name: age, type: int, description: years}
  - {name: income, type: float}
`))
	require.NoError(t, err)
	assert.Equal(t, Spec{Name: "customers", Group: "vision", Description: "cleaned rows", Datasets: []string{"dataset://raw@v1"},
		Features: []Feature{{Name: "age", Type: "int", Description: "years"}, {Name: "income", Type: "float"}}}, s)
	back, err := FromJSON(s.JSON())
	require.NoError(t, err)
	assert.Equal(t, s, back)

	// Every problem at once, each at its place.
	_, err = Decode([]byte(`apiVersion: v1
kind: FeatureSet
metadata: {}
spec:
  colour: red
  datasets: [raw]
  features:
  - {name: age, type: integer}
  - {name: age, type: int}
  - {type: int}
`))
	require.Error(t, err)
	for _, want := range []string{
		`apiVersion: want kubeline.io/v1alpha1, got "v1"`, "metadata.name: is required", "5:3: spec.colour: unknown field",
		`6:14: spec.datasets[0]: want dataset://NAME@vN, got "raw"`, `8:23: spec.features[0].type: unknown type "integer" (want int, float, string, bool, timestamp)`,
		`9:12: spec.features[1].name: feature "age" is declared twice`, "spec.features[2].name: is required",
	} {
		assert.Contains(t, err.Error(), want)
	}
	_, err = Decode([]byte("apiVersion: kubeline.io/v1alpha1\nkind: FeatureSet\nmetadata: {name: x}\nspec: {features: []}\n"))
	assert.ErrorContains(t, err, "spec.features: declare at least one feature")
}

var features = []Feature{{Name: "id", Type: "int"}, {Name: "score", Type: "float"}, {Name: "name", Type: "string"}, {Name: "ok", Type: "bool"}, {Name: "at", Type: "timestamp"}}

func write(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	return p
}

func TestCheck(t *testing.T) {
	for _, c := range []struct {
		name, file, data string
		columns          []string
		msgs             []string
	}{
		{"csv ok", "d.csv", "id,score,name,ok,at\n1,0.5,a,true,2024-01-02\n2,,\"b,c\",false,2024-01-02T03:04:05Z\n", nil, nil},
		{"csv bad int", "d.csv", "id,score,name,ok,at\n1,0.5,a,true,2024-01-02\nx,0.5,a,true,2024-01-02\n", []string{"id"}, []string{`column "id": declared int, line 3 has "x"`}},
		{"csv header", "rows", "id,score,name,ok,extra\n1,2,a,true,z\n", []string{"extra", "at"},
			[]string{`column "extra": not a declared feature (CSV header)`, `column "at": declared timestamp, missing from the CSV header`}},
		{"csv two columns", "d.csv", "id,score,name,ok,at\n1,high,a,maybe,2024-01-02\n", []string{"score", "ok"}, nil},
		{"jsonl ok", "d.jsonl", `{"id":1,"score":2,"name":"a","ok":true,"at":"2024-01-02"}` + "\n\n" + `{"id":2,"score":null}` + "\n", nil, nil},
		{"jsonl bad", "d", `{"id":1.5,"score":"x","name":3,"ok":"yes","at":"soon","more":1}` + "\n", []string{"at", "id", "more", "name", "ok", "score"},
			[]string{`column "id": declared int, line 1 has 1.5`, `column "more": not a declared feature (line 1)`}},
		{"jsonl not an object", "d.jsonl", "{\"id\":1}\n[1]\n", nil, []string{"line 2 is not a JSON object"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := Check(write(t, c.file, c.data), features)
			if c.columns == nil && c.msgs == nil {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			var me *MismatchError
			require.True(t, errors.As(err, &me), err)
			if c.columns != nil {
				assert.ElementsMatch(t, c.columns, me.Columns())
			}
			for _, m := range c.msgs {
				assert.Contains(t, err.Error(), m)
			}
		})
	}
}

func TestCheckDirectory(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.csv"), []byte("id\n1\n"), 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "part"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "part", "b.jsonl"), []byte(`{"id":"one"}`+"\n"), 0o644))
	err := Check(dir, []Feature{{Name: "id", Type: "int"}})
	require.Error(t, err)
	assert.Equal(t, `the data does not match the declared features: part/b.jsonl: column "id": declared int, line 1 has "one"`, err.Error())
	assert.ErrorContains(t, Check(t.TempDir(), features), "no data file")
}

func TestCheckParquet(t *testing.T) {
	type good struct {
		ID    int64   `parquet:"id"`
		Score float64 `parquet:"score"`
		Name  string  `parquet:"name"`
		OK    bool    `parquet:"ok"`
		At    int64   `parquet:"at,timestamp"`
	}
	p := filepath.Join(t.TempDir(), "g.parquet")
	require.NoError(t, parquet.WriteFile(p, []good{{1, 0.5, "a", true, 1700000000000}}))
	require.NoError(t, Check(p, features))

	type bad struct {
		ID    string  `parquet:"id"`
		Score float64 `parquet:"score"`
		Name  string  `parquet:"name"`
		Extra int32   `parquet:"extra"`
	}
	p = filepath.Join(t.TempDir(), "data") // found by its PAR1 magic
	require.NoError(t, parquet.WriteFile(p, []bad{{"1", 0.5, "a", 3}}))
	err := Check(p, features)
	var me *MismatchError
	require.True(t, errors.As(err, &me), "%v", err)
	assert.Equal(t, []string{"id", "extra", "ok", "at"}, me.Columns())
	assert.Contains(t, err.Error(), `column "id": declared int, the Parquet column is BYTE_ARRAY (STRING)`)
	assert.Contains(t, err.Error(), `column "ok": declared bool, missing from the Parquet schema`)
}

// BenchmarkCheck checks 100,000 rows of five features as CSV and as JSON
// lines (bytes/s is the data's size).
func BenchmarkCheck(b *testing.B) {
	dir := b.TempDir()
	var csv, jsonl []byte
	csv = append(csv, "id,score,name,ok,at\n"...)
	for i := 0; i < 100000; i++ {
		csv = append(csv, []byte(fmt.Sprintf("%d,%d.5,name%d,true,2024-01-02\n", i, i%97, i))...)
		jsonl = append(jsonl, []byte(fmt.Sprintf(`{"id":%d,"score":%d.5,"name":"name%d","ok":true,"at":"2024-01-02"}`+"\n", i, i%97, i))...)
	}
	for name, data := range map[string][]byte{"rows.csv": csv, "rows.jsonl": jsonl} {
		p := filepath.Join(dir, name)
		require.NoError(b, os.WriteFile(p, data, 0o644))
		b.Run(filepath.Ext(name)[1:], func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if err := Check(p, features); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
