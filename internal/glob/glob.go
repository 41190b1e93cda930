// Package glob matches the one wildcard that model names, scopes and
// routes use: '*', any run of characters.
package glob

// Match reports whether s matches pattern, where '*' matches any run of
// characters (including none) and every other byte matches itself. It is
// greedy with backtracking to the last star: at worst
// O(len(pattern)·len(s)), with no recursion and no allocation.
func Match(pattern, s string) bool {
	px, sx := 0, 0
	starP, starS := -1, 0
	for sx < len(s) {
		switch {
		case px < len(pattern) && pattern[px] == '*':
			starP, starS = px, sx
			px++
		case px < len(pattern) && pattern[px] == s[sx]:
			px++
			sx++
		case starP >= 0:
			starS++
			px, sx = starP+1, starS
		default:
			return false
		}
	}
	for px < len(pattern) && pattern[px] == '*' {
		px++
	}
	return px == len(pattern)
}
