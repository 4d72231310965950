package bench

import (
	"slices"
	"strings"
	"testing"
)

func TestFilterProjCases(t *testing.T) {
	names := func(cs []ProjCase) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.Name())
		}
		return out
	}
	for _, tc := range []struct {
		filter string
		want   []string
	}{
		{"", names(ProjCases)},
		{"lenet5", []string{"lenet5/d300", "lenet5/d1000"}},
		{"lenet5/d1000,mnist-fc-200/d750", []string{"mnist-fc-200/d750", "lenet5/d1000"}},
		{"d1000", []string{"mnist-fc-200/d1000", "lenet5/d1000"}},
	} {
		got, err := FilterProjCases(ProjCases, tc.filter)
		if err != nil || !slices.Equal(names(got), tc.want) {
			t.Errorf("filter %q: %v, %v; want %v", tc.filter, names(got), err, tc.want)
		}
	}
	if _, err := FilterProjCases(ProjCases, "resnet20"); err == nil || !strings.Contains(err.Error(), "lenet5/d300") {
		t.Errorf("a filter matching nothing: %v, want an error naming the cases", err)
	}
}
