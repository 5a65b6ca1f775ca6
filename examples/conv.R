# The lab's convolution, its two gradients and the Sobel edge map, with the lab's loops,
# as a program that `sobelcli verify --cmd` runs once per case:
#
#   sobelcli verify --role forward     --cmd 'Rscript examples/conv.R forward {x} {k} {out}'
#   sobelcli verify --role grad-input  --cmd 'Rscript examples/conv.R grad-input {dy} {k} {out}'
#   sobelcli verify --role grad-kernel --cmd 'Rscript examples/conv.R grad-kernel {x} {dy} {out}'
#   sobelcli verify --role edges       --cmd 'Rscript examples/conv.R edges {x} {out}'
#
# sobelcli writes each input matrix as a CSV file (plain numbers, comma-separated, one matrix
# row per line, no header) and reads the output back from {out}, written the same way.
# Indices are 1-based, as in the lab's formulas.

read_matrix <- function(path) {
  as.matrix(read.csv(path, header = FALSE))
}

write_matrix <- function(m, path) {
  write.table(m, path, sep = ",", row.names = FALSE, col.names = FALSE)
}

# Eq. (3): y_ij = sum_k sum_l x_{i+k-1, j+l-1} k_kl
compute_convolution_at_position <- function(i, j, image, kernel) {
  result_ij <- 0.0
  for (k in 1:nrow(kernel)) {
    for (l in 1:ncol(kernel)) {
      result_ij <- result_ij + image[i + k - 1, j + l - 1] * kernel[k, l]
    }
  }
  result_ij
}

our_conv <- function(image, kernel) {
  result_rows <- nrow(image) - nrow(kernel) + 1
  result_cols <- ncol(image) - ncol(kernel) + 1
  vec <- apply(expand.grid(1:result_rows, 1:result_cols), 1, function(pos) {
    compute_convolution_at_position(pos[1], pos[2], image, kernel)
  })
  matrix(vec, nrow = result_rows, ncol = result_cols)
}

# Eq. (6): dL/dx_ij = sum_{k=L_k}^{U_k} sum_{l=L_l}^{U_l} dL/dy_{i-k+1, j-l+1} k_kl
conv_gradient_wrt_input <- function(dloss_dy, kernel) {
  image_rows <- nrow(dloss_dy) + nrow(kernel) - 1
  image_cols <- ncol(dloss_dy) + ncol(kernel) - 1
  vec <- apply(expand.grid(1:image_rows, 1:image_cols), 1, function(pos) {
    i <- pos[1]
    j <- pos[2]
    lk <- max(1, i - image_rows + nrow(kernel))
    ll <- max(1, j - image_cols + ncol(kernel))
    uk <- min(nrow(kernel), i)
    ul <- min(ncol(kernel), j)
    gradient_ij <- 0.0
    for (k in lk:uk) {
      for (l in ll:ul) {
        a <- i - k + 1
        b <- j - l + 1
        gradient_ij <- gradient_ij + dloss_dy[a, b] * kernel[k, l]
      }
    }
    gradient_ij
  })
  matrix(vec, nrow = image_rows, ncol = image_cols)
}

# Eq. (5): dL/dk_kl = sum_i sum_j dL/dy_ij x_{i+k-1, j+l-1}
conv_gradient_wrt_kernel <- function(image, dloss_dy) {
  kernel_rows <- nrow(image) - nrow(dloss_dy) + 1
  kernel_cols <- ncol(image) - ncol(dloss_dy) + 1
  gradient <- matrix(0.0, nrow = kernel_rows, ncol = kernel_cols)
  for (k in 1:kernel_rows) {
    for (l in 1:kernel_cols) {
      for (i in 1:nrow(dloss_dy)) {
        for (j in 1:ncol(dloss_dy)) {
          gradient[k, l] <- gradient[k, l] + dloss_dy[i, j] * image[i + k - 1, j + l - 1]
        }
      }
    }
  }
  gradient
}

# Eq. (2): E = sqrt((Gx * I)^2 + (Gy * I)^2), divided by its maximum
sobel_x <- matrix(c(-1, 0, 1, -2, 0, 2, -1, 0, 1), nrow = 3)
sobel_y <- matrix(c(-1, -2, -1, 0, 0, 0, 1, 2, 1), nrow = 3)

apply_sobel <- function(img) {
  conv_x <- our_conv(img, sobel_x)
  conv_y <- our_conv(img, sobel_y)
  conv <- sqrt(conv_x^2 + conv_y^2)
  conv / max(conv)
}

usage <- "usage: Rscript conv.R forward|grad-input|grad-kernel|edges INPUT... OUTPUT"
args <- commandArgs(trailingOnly = TRUE)
if (length(args) < 3) {
  stop(usage)
}
role <- args[1]
if (role == "forward") {
  write_matrix(our_conv(read_matrix(args[2]), read_matrix(args[3])), args[4])
} else if (role == "grad-input") {
  write_matrix(conv_gradient_wrt_input(read_matrix(args[2]), read_matrix(args[3])), args[4])
} else if (role == "grad-kernel") {
  write_matrix(conv_gradient_wrt_kernel(read_matrix(args[2]), read_matrix(args[3])), args[4])
} else if (role == "edges") {
  write_matrix(apply_sobel(read_matrix(args[2])), args[3])
} else {
  stop(usage)
}
