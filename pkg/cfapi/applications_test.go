package cfapi

import (
	"encoding/json"
	"testing"
)

func TestInstanceTypeInferredFromTheSizesTheAPIAnswers(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ conf, want string }{
		// What the API answers: sizes, no name (wrangler's inferInstanceType).
		{`{"vcpu":0.0625,"memory_mib":256,"disk":{"size_mb":2000}}`, "lite"},
		{`{"vcpu":0.5,"memory_mib":4096,"disk":{"size_mb":8000}}`, "standard-1"},
		{`{"vcpu":4,"memory_mib":12288,"disk":{"size_mb":20000}}`, "standard-4"},
		{`{"vcpu":0.5,"memory_mib":4096,"disk":{"size_mb":9000}}`, ""},
		{`{"vcpu":0.5,"memory_mib":4096}`, ""},
		// A name, where one is given, in today's spelling.
		{`{"instance_type":"standard"}`, "standard-1"},
		{`{"instance_type":"dev"}`, "lite"},
		// The sizes win over a name, as wrangler re-infers it.
		{`{"instance_type":"lite","vcpu":0.5,"memory_mib":4096,"disk":{"size_mb":8000}}`, "standard-1"},
	} {
		var conf map[string]any
		if err := json.Unmarshal([]byte(tt.conf), &conf); err != nil {
			t.Fatal(err)
		}
		if got := InstanceType(conf); got != tt.want {
			t.Errorf("InstanceType(%s) = %q, want %q", tt.conf, got, tt.want)
		}
	}
}
