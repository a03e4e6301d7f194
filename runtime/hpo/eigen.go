package hpo

import "math"

// eigenSym diagonalises a symmetric matrix by Jacobi rotations: columns of
// b are eigenvectors; diag holds the square roots of the eigenvalues.
func eigenSym(c [][]float64) ([][]float64, []float64) {
	d := len(c)
	a := make([][]float64, d)
	for i := range a {
		a[i] = append([]float64(nil), c[i]...)
	}
	b := mdlIdentity(d)
	for sweep := 0; sweep < 50; sweep++ {
		off := 0.0
		for i := 0; i < d; i++ {
			for j := i + 1; j < d; j++ {
				off += a[i][j] * a[i][j]
			}
		}
		if off < 1e-30 {
			break
		}
		for p := 0; p < d; p++ {
			for q := p + 1; q < d; q++ {
				jacobiRotate(a, b, p, q)
			}
		}
	}
	diag := make([]float64, d)
	for i := range diag {
		diag[i] = math.Sqrt(math.Max(a[i][i], 1e-20))
	}
	return b, diag
}

func jacobiRotate(a, b [][]float64, p, q int) {
	if math.Abs(a[p][q]) < 1e-300 {
		return
	}
	theta := (a[q][q] - a[p][p]) / (2 * a[p][q])
	t := math.Copysign(1, theta) / (math.Abs(theta) + math.Sqrt(theta*theta+1))
	cs := 1 / math.Sqrt(t*t+1)
	sn := t * cs
	for k := range a {
		akp, akq := a[k][p], a[k][q]
		a[k][p], a[k][q] = cs*akp-sn*akq, sn*akp+cs*akq
	}
	for k := range a {
		apk, aqk := a[p][k], a[q][k]
		a[p][k], a[q][k] = cs*apk-sn*aqk, sn*apk+cs*aqk
	}
	for k := range b {
		bkp, bkq := b[k][p], b[k][q]
		b[k][p], b[k][q] = cs*bkp-sn*bkq, sn*bkp+cs*bkq
	}
}
