/* rnnbook's compiled loops over time: the recurrences of LSTMBPTT, GRUBPTT (reset_after) and ElmanBPTT
 * (rnnbook/kernels/lstm_bptt.py, gru_bptt.py, elman_bptt.py), forward and backward, in plain C
 * (compiled on first use by rnnbook/kernels/native.py; see its docstring).
 *
 * The same equations as the Python loops of those modules, one step after the other, with no
 * Python between steps. The matrix products go through the BLAS that torch itself calls
 * (sgemm_/dgemm_, Fortran interface, handed over by rnnbook_set_gemm), so every product is the
 * one torch.mm computes. All arrays are row-major and contiguous; sizes: L steps, N sequences,
 * H hidden units, P outputs of the projection (0: none, then the outputs are the H units).
 *
 * Element-wise functions: float64 uses libm's exp and tanh; float32 uses a polynomial exp
 * (Cephes' expf, relative error about 2e-7) that the compiler vectorizes, with
 * sigmoid(a) = 1 / (1 + exp(-a)) and tanh(a) = 2 sigmoid(2a) - 1.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

typedef void (*sgemm_fn)(const char *, const char *, const int *, const int *, const int *, const float *,
                         const float *, const int *, const float *, const int *, const float *, float *,
                         const int *);
typedef void (*dgemm_fn)(const char *, const char *, const int *, const int *, const int *, const double *,
                         const double *, const int *, const double *, const int *, const double *, double *,
                         const int *);

static sgemm_fn sgemm_p = 0;
static dgemm_fn dgemm_p = 0;

void rnnbook_set_gemm(void *s, void *d) {
    sgemm_p = (sgemm_fn)s;
    dgemm_p = (dgemm_fn)d;
}

int rnnbook_abi_version(void) { return 1; }

/* row-major C (m x n) = beta C + A (m x k) B^T, B (n x k) */
static void gemm_nt_f32(int m, int n, int k, const float *A, const float *B, float beta, float *C) {
    const float one = 1.0f;
    sgemm_p("T", "N", &n, &m, &k, &one, B, &k, A, &k, &beta, C, &n);
}
/* row-major C (m x n) = beta C + A (m x k) B, B (k x n) */
static void gemm_nn_f32(int m, int n, int k, const float *A, const float *B, float beta, float *C) {
    const float one = 1.0f;
    sgemm_p("N", "N", &n, &m, &k, &one, B, &n, A, &k, &beta, C, &n);
}
static void gemm_nt_f64(int m, int n, int k, const double *A, const double *B, double beta, double *C) {
    const double one = 1.0;
    dgemm_p("T", "N", &n, &m, &k, &one, B, &k, A, &k, &beta, C, &n);
}
static void gemm_nn_f64(int m, int n, int k, const double *A, const double *B, double beta, double *C) {
    const double one = 1.0;
    dgemm_p("N", "N", &n, &m, &k, &one, B, &n, A, &k, &beta, C, &n);
}

/* exp(x) in float32: Cephes' expf (x = n ln2 + r, |r| <= ln2 / 2, e^r by a degree-6 polynomial,
 * 2^n written into the exponent bits); inputs clamped to [-87, 88], where 2^n stays normal. */
static inline float exp_f32(float x) {
    x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
    float n = floorf(x * 1.44269504088896341f + 0.5f);
    float r = x - n * 0.693359375f + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    int32_t bits = ((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}
static inline float sigmoid_f32(float a) { return 1.0f / (1.0f + exp_f32(-a)); }
static inline float tanh_f32(float a) { return 2.0f / (1.0f + exp_f32(-2.0f * a)) - 1.0f; }
static inline double sigmoid_f64(double a) { return 1.0 / (1.0 + exp(-a)); }
static inline double tanh_f64(double a) { return tanh(a); }

/* One sequence's row of one step, forward (with and without the backward's factors) and
 * backward; the four gate blocks of a row do not overlap, hence restrict. */
#define LSTM_ROWS(T, SFX)                                                                                     \
    static void lstm_row_grad_##SFX(int H, T *restrict gi, T *restrict gf, T *restrict gg, T *restrict go,   \
                                    T *restrict c, T *restrict m, T *restrict fs, T *restrict dt) {          \
        for (int j = 0; j < H; ++j) {                                                                         \
            T i = sigmoid_##SFX(gi[j]), f = sigmoid_##SFX(gf[j]), g = tanh_##SFX(gg[j]);                      \
            T o = sigmoid_##SFX(go[j]);                                                                       \
            T cp = c[j];                                                                                      \
            T cc = f * cp + i * g; /* c_t = f_t c_{t-1} + i_t g_t */                                          \
            T tc = tanh_##SFX(cc);                                                                            \
            c[j] = cc;                                                                                        \
            m[j] = o * tc; /* m_t = o_t tanh(c_t) */                                                          \
            fs[j] = f;                                                                                        \
            dt[j] = o * (1 - tc * tc);                                                                        \
            gi[j] = g * i * (1 - i);                                                                          \
            gf[j] = cp * f * (1 - f);                                                                         \
            gg[j] = i * (1 - g * g);                                                                          \
            go[j] = tc * o * (1 - o);                                                                         \
        }                                                                                                     \
    }                                                                                                         \
    static void lstm_row_##SFX(int H, T *restrict gi, T *restrict gf, T *restrict gg, T *restrict go,        \
                               T *restrict c, T *restrict m) {                                               \
        for (int j = 0; j < H; ++j) {                                                                         \
            T i = sigmoid_##SFX(gi[j]), f = sigmoid_##SFX(gf[j]), g = tanh_##SFX(gg[j]);                      \
            T o = sigmoid_##SFX(go[j]);                                                                       \
            T cc = f * c[j] + i * g;                                                                          \
            c[j] = cc;                                                                                        \
            m[j] = o * tanh_##SFX(cc);                                                                        \
            gi[j] = i, gf[j] = f, gg[j] = g, go[j] = o;                                                       \
        }                                                                                                     \
    }                                                                                                         \
    static void lstm_row_back_##SFX(int H, const T *restrict k, T *restrict d, const T *restrict fs,         \
                                    const T *restrict dt, const T *restrict dm, T *restrict dc) {            \
        for (int j = 0; j < H; ++j) {                                                                         \
            T dcj = dc[j] + dm[j] * dt[j]; /* dc_t += dm_t o_t (1 - tanh^2 c_t) */                            \
            d[j] = dcj * k[j];                                                                                \
            d[H + j] = dcj * k[H + j];                                                                        \
            d[2 * H + j] = dcj * k[2 * H + j];                                                                \
            d[3 * H + j] = dm[j] * k[3 * H + j];                                                              \
            dc[j] = dcj * fs[j]; /* dc_{t-1} = dc_t f_t */                                                    \
        }                                                                                                     \
    }                                                                                                         \
    /* the same, writing the deltas over the factors (one pointer: each element read, then written) */       \
    static void lstm_row_back_inplace_##SFX(int H, T *restrict kd, const T *restrict fs, const T *restrict dt, \
                                            const T *restrict dm, T *restrict dc) {                          \
        for (int j = 0; j < H; ++j) {                                                                         \
            T dcj = dc[j] + dm[j] * dt[j];                                                                    \
            kd[j] *= dcj;                                                                                     \
            kd[H + j] *= dcj;                                                                                 \
            kd[2 * H + j] *= dcj;                                                                             \
            kd[3 * H + j] *= dm[j];                                                                           \
            dc[j] = dcj * fs[j];                                                                              \
        }                                                                                                     \
    }

/* The LSTM forward over all steps (see LSTMBPTT in lstm_bptt.py for the equations).
 *   gates  (L, N, 4H)  on entry gi_t + b_hh (gates i, f, g, o); on exit, with grad, the factors
 *                      [g i(1-i), c_{t-1} f(1-f), i(1-g^2), tanh(c) o(1-o)] of the backward, else
 *                      the activated gates
 *   h0 (N, Hout), c0 (N, H), w_hh (4H, Hout), w_hr (P, H) or NULL
 *   out (L, N, Hout)   h_t;   m (L, N, H) m_t = o_t tanh(c_t) when P > 0 (else NULL: m_t is h_t)
 *   c (N, H)           c_L on exit
 *   f_save, dtanh (L, N, H) or NULL (no grad): f_t and o_t (1 - tanh^2(c_t)) for the backward */
#define LSTM_FORWARD(T, SFX)                                                                                  \
    int rnnbook_lstm_forward_##SFX(int L, int N, int H, int P, T *gates, const T *h0, const T *c0,           \
                                   const T *w_hh, const T *w_hr, T *out, T *m, T *c, T *f_save, T *dtanh) { \
        const int Hout = P > 0 ? P : H;                                                                       \
        memcpy(c, c0, sizeof(T) * (size_t)N * H);                                                             \
        const T *h = h0;                                                                                      \
        for (int t = 0; t < L; ++t) {                                                                         \
            T *g_t = gates + (size_t)t * N * 4 * H;                                                           \
            /* gi_t + b_hh + h_{t-1} W_hh^T */                                                                \
            gemm_nt_##SFX(N, 4 * H, Hout, h, w_hh, (T)1, g_t);                                                \
            T *m_t = (P > 0 ? m : out) + (size_t)t * N * H;                                                   \
            for (int n = 0; n < N; ++n) {                                                                     \
                T *g = g_t + (size_t)n * 4 * H;                                                               \
                size_t row = ((size_t)t * N + n) * H;                                                         \
                if (f_save)                                                                                   \
                    lstm_row_grad_##SFX(H, g, g + H, g + 2 * H, g + 3 * H, c + (size_t)n * H,                 \
                                        m_t + (size_t)n * H, f_save + row, dtanh + row);                      \
                else                                                                                          \
                    lstm_row_##SFX(H, g, g + H, g + 2 * H, g + 3 * H, c + (size_t)n * H, m_t + (size_t)n * H);\
            }                                                                                                 \
            if (P > 0) /* h_t = m_t W_hr^T */                                                                 \
                gemm_nt_##SFX(N, P, H, m_t, w_hr, (T)0, out + (size_t)t * N * P);                             \
            h = out + (size_t)t * N * Hout;                                                                   \
        }                                                                                                     \
        return 0;                                                                                             \
    }

/* The LSTM backward over all steps, from the last.
 *   coef (L, N, 4H) the forward's factors; delta (L, N, 4H) receives [di, df, dg, do]_t: a new
 *                   buffer, or coef itself (each element of a step is read before it is written)
 *   f_save, dtanh (L, N, H) from the forward
 *   grad_out (L, N, Hout) or NULL: the output's gradients g_t
 *   dh (N, Hout): dh_L on entry (g_L plus the final state's gradient), dL/dh_0 on exit
 *   dc (N, H): dL/dc_L on entry (zeros if none), dL/dc_0 on exit
 *   w_hh (4H, Hout); w_hr (P, H) or NULL; dhs (L, N, P) receives dh_t when P > 0; dm (N, H) scratch */
#define LSTM_BACKWARD(T, SFX)                                                                                 \
    int rnnbook_lstm_backward_##SFX(int L, int N, int H, int P, const T *coef, T *delta, const T *f_save,    \
                                    const T *dtanh, const T *grad_out, T *dh, T *dc, const T *w_hh,          \
                                    const T *w_hr, T *dhs, T *dm) {                                          \
        const int Hout = P > 0 ? P : H;                                                                       \
        for (int t = L - 1; t >= 0; --t) {                                                                    \
            const T *dm_t = dh;                                                                               \
            if (P > 0) {                                                                                      \
                memcpy(dhs + (size_t)t * N * P, dh, sizeof(T) * (size_t)N * P);                               \
                gemm_nn_##SFX(N, H, P, dh, w_hr, (T)0, dm); /* dm_t = dh_t W_hr */                            \
                dm_t = dm;                                                                                    \
            }                                                                                                 \
            T *d_t = delta + (size_t)t * N * 4 * H;                                                           \
            for (int n = 0; n < N; ++n) {                                                                     \
                size_t row = ((size_t)t * N + n) * H, gate_row = ((size_t)t * N + n) * 4 * H;                 \
                if (delta == coef)                                                                            \
                    lstm_row_back_inplace_##SFX(H, delta + gate_row, f_save + row, dtanh + row,               \
                                                dm_t + (size_t)n * H, dc + (size_t)n * H);                    \
                else                                                                                          \
                    lstm_row_back_##SFX(H, coef + gate_row, delta + gate_row, f_save + row, dtanh + row,      \
                                        dm_t + (size_t)n * H, dc + (size_t)n * H);                            \
            }                                                                                                 \
            /* dh_{t-1} = g_{t-1} + delta_t W_hh */                                                           \
            T beta = 0;                                                                                       \
            if (t > 0 && grad_out) {                                                                          \
                memcpy(dh, grad_out + (size_t)(t - 1) * N * Hout, sizeof(T) * (size_t)N * Hout);              \
                beta = 1;                                                                                     \
            }                                                                                                 \
            gemm_nn_##SFX(N, Hout, 4 * H, d_t, w_hh, beta, dh);                                               \
        }                                                                                                     \
        return 0;                                                                                             \
    }

LSTM_ROWS(float, f32)
LSTM_ROWS(double, f64)
LSTM_FORWARD(float, f32)
LSTM_FORWARD(double, f64)
LSTM_BACKWARD(float, f32)
LSTM_BACKWARD(double, f64)

/* ---- The Elman RNN (ElmanBPTT): h_t = act(a_t), a_t = x_t W_ih^T + b + h_{t-1} W_hh^T ---------------
 *   out (L, N, H): x_t W_ih^T + b on entry, h_t on exit; relu: 1 for relu, 0 for tanh */
#define ELMAN(T, SFX)                                                                                         \
    int rnnbook_elman_forward_##SFX(int L, int N, int H, int relu, T *out, const T *h0, const T *w_hh) {     \
        const T *h = h0;                                                                                      \
        const size_t NH = (size_t)N * H;                                                                      \
        for (int t = 0; t < L; ++t) {                                                                         \
            T *restrict a = out + (size_t)t * NH;                                                             \
            gemm_nt_##SFX(N, H, H, h, w_hh, (T)1, a); /* a_t += h_{t-1} W_hh^T */                             \
            if (relu)                                                                                         \
                for (size_t j = 0; j < NH; ++j) a[j] = a[j] > 0 ? a[j] : 0;                                   \
            else                                                                                              \
                for (size_t j = 0; j < NH; ++j) a[j] = tanh_##SFX(a[j]);                                      \
            h = a;                                                                                            \
        }                                                                                                     \
        return 0;                                                                                             \
    }                                                                                                         \
    /* Steps b-1 down to a of the backward. d (b - a, N, H) receives delta_t = dh_t act'(a_t); dh (N, H)   \
     * holds dh_{b-1} on entry and dh_{a-1} = g_{a-1} + delta_a W_hh on exit (for a = 0: delta_0 W_hh, the  \
     * gradient of h_0); grad_out (L, N, H) or NULL. */                                                       \
    int rnnbook_elman_backward_##SFX(int a, int b, int N, int H, int relu, const T *out, const T *grad_out,   \
                                     T *dh, T *d, const T *w_hh) {                                           \
        const size_t NH = (size_t)N * H;                                                                      \
        for (int t = b - 1; t >= a; --t) {                                                                    \
            const T *restrict h = out + (size_t)t * NH;                                                       \
            T *restrict dt = d + (size_t)(t - a) * NH;                                                        \
            const T *restrict g = dh;                                                                         \
            if (relu)                                                                                         \
                for (size_t j = 0; j < NH; ++j) dt[j] = h[j] > 0 ? g[j] : 0;                                  \
            else                                                                                              \
                for (size_t j = 0; j < NH; ++j) dt[j] = g[j] * (1 - h[j] * h[j]);                             \
            T beta = 0;                                                                                       \
            if (t > 0 && grad_out) {                                                                          \
                memcpy(dh, grad_out + (size_t)(t - 1) * NH, sizeof(T) * NH);                                  \
                beta = 1;                                                                                     \
            }                                                                                                 \
            gemm_nn_##SFX(N, H, H, dt, w_hh, beta, dh); /* dh_{t-1} = g_{t-1} + delta_t W_hh */               \
        }                                                                                                     \
        return 0;                                                                                             \
    }

/* ---- The GRU, torch's reset_after form (GRUBPTT) --------------------------------------------------------
 *   buf (L, N, 3H): gi_t (gates r, z, n) on entry; on exit, with grad, the factors C_t = [Br, Bz, r Bn]
 *                   of dL/dgh_t = dh_t C_t, else the gates r_t, z_t, n_t
 *   bn, zs (L, N, H) or NULL (no grad): Bn_t = (1 - z_t)(1 - n_t^2) and z_t
 *   gh (N, 3H) scratch; b_hh (3H) (zeros for a layer without bias); out (L, N, H) receives h_t */
#define GRU(T, SFX)                                                                                           \
    static void gru_row_grad_##SFX(int H, T *restrict g, const T *restrict gh, const T *restrict b,          \
                                   const T *restrict hp, T *restrict h, T *restrict bn, T *restrict zs) {    \
        for (int j = 0; j < H; ++j) {                                                                         \
            T r = sigmoid_##SFX(g[j] + gh[j] + b[j]);             /* r_t = σ(gi_r + gh_r) */                  \
            T z = sigmoid_##SFX(g[H + j] + gh[H + j] + b[H + j]); /* z_t = σ(gi_z + gh_z) */                  \
            T hn = gh[2 * H + j] + b[2 * H + j];                  /* hn_t = h_{t-1} W_hn^T + b_hn */          \
            T n = tanh_##SFX(g[2 * H + j] + r * hn);              /* n_t = tanh(gi_n + r_t hn_t) */           \
            h[j] = n + z * (hp[j] - n);                           /* h_t = (1 - z_t) n_t + z_t h_{t-1} */     \
            T Bn = (1 - z) * (1 - n * n);                                                                     \
            g[j] = Bn * hn * r * (1 - r);                                                                     \
            g[H + j] = (hp[j] - n) * z * (1 - z);                                                             \
            g[2 * H + j] = r * Bn;                                                                            \
            bn[j] = Bn;                                                                                       \
            zs[j] = z;                                                                                        \
        }                                                                                                     \
    }                                                                                                         \
    static void gru_row_##SFX(int H, T *restrict g, const T *restrict gh, const T *restrict b,                \
                              const T *restrict hp, T *restrict h) {                                         \
        for (int j = 0; j < H; ++j) {                                                                         \
            T r = sigmoid_##SFX(g[j] + gh[j] + b[j]);                                                         \
            T z = sigmoid_##SFX(g[H + j] + gh[H + j] + b[H + j]);                                             \
            T n = tanh_##SFX(g[2 * H + j] + r * (gh[2 * H + j] + b[2 * H + j]));                              \
            h[j] = n + z * (hp[j] - n);                                                                       \
            g[j] = r, g[H + j] = z, g[2 * H + j] = n;                                                         \
        }                                                                                                     \
    }                                                                                                         \
    /* one row of a backward step, over the factors (one pointer each: every element read, then written) */   \
    static void gru_row_back_##SFX(int H, T *restrict cd, T *restrict be, const T *restrict z,               \
                                   const T *restrict x, T *restrict y) {                                     \
        for (int j = 0; j < H; ++j) {                                                                         \
            T v = x[j];                                                                                       \
            cd[j] *= v;                                                                                       \
            cd[H + j] *= v;                                                                                   \
            cd[2 * H + j] *= v;                                                                               \
            be[j] *= v;                                                                                       \
            y[j] = v * z[j]; /* dh_t z_t */                                                                   \
        }                                                                                                     \
    }                                                                                                         \
    int rnnbook_gru_forward_##SFX(int L, int N, int H, T *buf, const T *h0, const T *w_hh, const T *b_hh,     \
                                  T *out, T *bn, T *zs, T *gh) {                                             \
        const T *h = h0;                                                                                      \
        const size_t NH = (size_t)N * H;                                                                      \
        for (int t = 0; t < L; ++t) {                                                                         \
            gemm_nt_##SFX(N, 3 * H, H, h, w_hh, (T)0, gh); /* h_{t-1} W_hh^T */                               \
            for (int n = 0; n < N; ++n) {                                                                     \
                size_t row = (size_t)t * NH + (size_t)n * H;                                                  \
                if (bn)                                                                                       \
                    gru_row_grad_##SFX(H, buf + 3 * row, gh + (size_t)n * 3 * H, b_hh, h + (size_t)n * H,     \
                                       out + row, bn + row, zs + row);                                        \
                else                                                                                          \
                    gru_row_##SFX(H, buf + 3 * row, gh + (size_t)n * 3 * H, b_hh, h + (size_t)n * H,          \
                                  out + row);                                                                 \
            }                                                                                                 \
            h = out + (size_t)t * NH;                                                                         \
        }                                                                                                     \
        return 0;                                                                                             \
    }                                                                                                         \
    /* coef (L, N, 3H) and bn (L, N, H) from the forward, overwritten by dL/dgh_t = dh_t C_t and dn_t =     \
     * dh_t Bn_t (the caller copies them first if the graph is kept); dh (N, H): dh_L on entry, dL/dh_0   \
     * on exit; acc (N, H) scratch; grad_out (L, N, H) or NULL. */                                            \
    int rnnbook_gru_backward_##SFX(int L, int N, int H, T *coef, T *bn, const T *zs, const T *grad_out,      \
                                   T *dh, T *acc, const T *w_hh) {                                           \
        const size_t NH = (size_t)N * H;                                                                      \
        for (int t = L - 1; t >= 0; --t) {                                                                    \
            for (int n = 0; n < N; ++n) {                                                                     \
                size_t row = (size_t)t * NH + (size_t)n * H;                                                  \
                gru_row_back_##SFX(H, coef + 3 * row, bn + row, zs + row, dh + (size_t)n * H,                 \
                                   acc + (size_t)n * H);                                                      \
            }                                                                                                 \
            if (t > 0 && grad_out) { /* + g_{t-1} */                                                          \
                const T *restrict g = grad_out + (size_t)(t - 1) * NH;                                        \
                T *restrict y = acc;                                                                          \
                for (size_t j = 0; j < NH; ++j) y[j] += g[j];                                                 \
            }                                                                                                 \
            /* dh_{t-1} = g_{t-1} + dh_t z_t + dL/dgh_t W_hh */                                               \
            gemm_nn_##SFX(N, H, 3 * H, coef + (size_t)t * NH * 3, w_hh, (T)1, acc);                           \
            memcpy(dh, acc, sizeof(T) * NH);                                                                  \
        }                                                                                                     \
        return 0;                                                                                             \
    }

ELMAN(float, f32)
ELMAN(double, f64)
GRU(float, f32)
GRU(double, f64)
