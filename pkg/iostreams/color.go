package iostreams

// ColorScheme renders text in colour only when colour is enabled.
type ColorScheme struct{ enabled bool }

func (c *ColorScheme) wrap(code, s string) string {
	if !c.enabled {
		return s
	}
	return "\033[" + code + "m" + s + "\033[0m"
}

// Bold renders s in bold.
func (c *ColorScheme) Bold(s string) string { return c.wrap("1", s) }

// Green renders s in green.
func (c *ColorScheme) Green(s string) string { return c.wrap("32", s) }

// Red renders s in red.
func (c *ColorScheme) Red(s string) string { return c.wrap("31", s) }

// Yellow renders s in yellow.
func (c *ColorScheme) Yellow(s string) string { return c.wrap("33", s) }

// Gray renders s dimmed.
func (c *ColorScheme) Gray(s string) string { return c.wrap("90", s) }

// Cyan renders s in cyan.
func (c *ColorScheme) Cyan(s string) string { return c.wrap("36", s) }

// SuccessIcon is a green check mark.
func (c *ColorScheme) SuccessIcon() string { return c.Green("✓") }

// FailureIcon is a red cross.
func (c *ColorScheme) FailureIcon() string { return c.Red("✗") }

// WarningIcon is a yellow exclamation mark.
func (c *ColorScheme) WarningIcon() string { return c.Yellow("!") }

// SkippedIcon is a grey dash.
func (c *ColorScheme) SkippedIcon() string { return c.Gray("-") }
