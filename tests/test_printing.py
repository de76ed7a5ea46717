"""repr/str of tensors must match PyTorch 2.13 character for character.

The expected strings are literals recorded from real PyTorch 2.13 (default
print options: precision 4, linewidth 80, threshold 1000, edgeitems 3); they
are not computed at test time.  Inputs are exactly representable or printed
far from a rounding boundary, so float32 arithmetic differences cannot flip
a digit.
"""
import numpy as np
import pytest

from tests._backend import torch


def F():
    return torch.nn.functional


def no_grad_mul(t):
    with torch.no_grad():
        return t * 2


def grad_after_backward():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    return x.grad


CASES = [
    ("float-int-valued", lambda: torch.tensor([1.0, 2.0, 3.0]),
     'tensor([1., 2., 3.])'),
    ("float-fractional", lambda: torch.tensor([1.5, 0.25, 3.0]),
     'tensor([1.5000, 0.2500, 3.0000])'),
    ("float-one-third", lambda: torch.tensor([1.0 / 3, 2.0 / 3]),
     'tensor([0.3333, 0.6667])'),
    ("float-negative", lambda: torch.tensor([-1.0, -2.5, 3.0]),
     'tensor([-1.0000, -2.5000,  3.0000])'),
    ("float-negative-int-valued", lambda: torch.tensor([-1.0, 2.0, -30.0]),
     'tensor([ -1.,   2., -30.])'),
    ("float-single", lambda: torch.tensor([5.0]),
     'tensor([5.])'),
    ("float-tenths", lambda: torch.tensor([0.1, 0.2, 0.3]),
     'tensor([0.1000, 0.2000, 0.3000])'),
    ("float-sci-mixed", lambda: torch.tensor([51.2, 512.0, 0.0512]),
     'tensor([5.1200e+01, 5.1200e+02, 5.1200e-02])'),
    ("float-mixed-magnitudes-sci", lambda: torch.tensor([102.4, 1024.0, 0.1024]),
     'tensor([1.0240e+02, 1.0240e+03, 1.0240e-01])'),
    ("float-mixed-magnitudes-fixed", lambda: torch.tensor([102.4, 1024.0, 1.5]),
     'tensor([ 102.4000, 1024.0000,    1.5000])'),
    ("float-ratio-under-1000-stays-fixed", lambda: torch.tensor([100.5, 0.125]),
     'tensor([100.5000,   0.1250])'),
    ("float-very-large", lambda: torch.tensor([1e10, 1.0]),
     'tensor([1.0000e+10, 1.0000e+00])'),
    ("float-very-small", lambda: torch.tensor([1e-10, 1.0]),
     'tensor([1.0000e-10, 1.0000e+00])'),
    ("float-all-tiny", lambda: torch.tensor([1e-5, 2e-5]),
     'tensor([1.0000e-05, 2.0000e-05])'),
    ("float-1e-4", lambda: torch.tensor([0.0001]),
     'tensor([1.0000e-04])'),
    ("float-large-int-valued", lambda: torch.tensor([100000.0, 2.0]),
     'tensor([1.0000e+05, 2.0000e+00])'),
    ("float-1e8-int-valued", lambda: torch.tensor([1e8, 1.0]),
     'tensor([1.0000e+08, 1.0000e+00])'),
    ("float-large-int-valued-ratio-500", lambda: torch.tensor([100000.0, 200.0]),
     'tensor([100000.,    200.])'),
    ("float-int-valued-1e9", lambda: torch.tensor([1e9]),
     'tensor([1.0000e+09])'),
    ("float-1e16", lambda: torch.tensor([1e16, -1.0]),
     'tensor([ 1.0000e+16, -1.0000e+00])'),
    ("float-large-fraction", lambda: torch.tensor([12345.678, 0.5]),
     'tensor([1.2346e+04, 5.0000e-01])'),
    ("float-precision", lambda: torch.tensor([123456789.0]),
     'tensor([1.2346e+08])'),
    ("float-negative-sci", lambda: torch.tensor([-1e-8, 5.0]),
     'tensor([-1.0000e-08,  5.0000e+00])'),
    ("float-zeros", lambda: torch.zeros(3),
     'tensor([0., 0., 0.])'),
    ("float-neg-zero", lambda: torch.tensor([-0.0, 1.0]),
     'tensor([-0., 1.])'),
    ("float-neg-zero-only", lambda: torch.tensor([-0.0, 0.0]),
     'tensor([-0., 0.])'),
    ("float-neg-zero-fraction", lambda: torch.tensor([-0.0, 1.5]),
     'tensor([-0.0000, 1.5000])'),
    ("float-nan-inf", lambda: torch.tensor([float('nan'), float('inf'), -float('inf'), 1.5]),
     'tensor([   nan,    inf,   -inf, 1.5000])'),
    ("float-nan-int-valued", lambda: torch.tensor([float('nan'), 1.0, 2.0]),
     'tensor([nan, 1., 2.])'),
    ("float-inf-and-large", lambda: torch.tensor([float('inf'), 1e10]),
     'tensor([       inf, 1.0000e+10])'),
    ("float-inf-int-valued", lambda: torch.tensor([float('inf'), 1.0]),
     'tensor([inf, 1.])'),
    ("float-neg-inf-fraction", lambda: torch.tensor([-float('inf'), 0.5]),
     'tensor([  -inf, 0.5000])'),
    ("float-nan-sci", lambda: torch.tensor([float('nan'), 1e-6]),
     'tensor([       nan, 1.0000e-06])'),
    ("float-neg-zero-sci", lambda: torch.tensor([-0.0, 1e10]),
     'tensor([-0.0000e+00, 1.0000e+10])'),
    ("float-wide-fixed", lambda: torch.tensor([1234.5, 2.5]),
     'tensor([1234.5000,    2.5000])'),
    ("float-ratio-over-1000-sci", lambda: torch.tensor([12345.5, 1.5]),
     'tensor([1.2346e+04, 1.5000e+00])'),
    ("float-small-fixed", lambda: torch.tensor([0.0005, 0.0002]),
     'tensor([0.0005, 0.0002])'),
    ("float-negative-small-sci", lambda: torch.tensor([123.456, -0.001]),
     'tensor([ 1.2346e+02, -1.0000e-03])'),
    ("float-all-nan", lambda: torch.tensor([float('nan'), float('nan')]),
     'tensor([nan, nan])'),
    ("0d-float-int-valued", lambda: torch.tensor(3.0),
     'tensor(3.)'),
    ("0d-float-fractional", lambda: torch.tensor(1.5),
     'tensor(1.5000)'),
    ("0d-float-negative", lambda: torch.tensor(-0.25),
     'tensor(-0.2500)'),
    ("0d-float-tiny", lambda: torch.tensor(1e-8),
     'tensor(1.0000e-08)'),
    ("0d-float-huge", lambda: torch.tensor(3e20),
     'tensor(3.0000e+20)'),
    ("0d-neg-zero", lambda: torch.tensor(-0.0),
     'tensor(-0.)'),
    ("0d-nan", lambda: torch.tensor(float('nan')),
     'tensor(nan)'),
    ("0d-int", lambda: torch.tensor(3),
     'tensor(3)'),
    ("0d-int-negative", lambda: torch.tensor(-42),
     'tensor(-42)'),
    ("0d-bool", lambda: torch.tensor(True),
     'tensor(True)'),
    ("0d-float64", lambda: torch.tensor(2.5, dtype=torch.float64),
     'tensor(2.5000, dtype=torch.float64)'),
    ("0d-int32", lambda: torch.tensor(7, dtype=torch.int32),
     'tensor(7, dtype=torch.int32)'),
    ("2d-float", lambda: torch.tensor([[1.0, 2.0], [3.0, 4.0]]),
     'tensor([[1., 2.],\n'
     '        [3., 4.]])'),
    ("2d-float-mixed-sign", lambda: torch.tensor([[-1.5, 2.0], [3.25, -400.0]]),
     'tensor([[  -1.5000,    2.0000],\n'
     '        [   3.2500, -400.0000]])'),
    ("2d-float-sci", lambda: torch.tensor([[1e-6, 1.0], [2.0, 3e5]]),
     'tensor([[1.0000e-06, 1.0000e+00],\n'
     '        [2.0000e+00, 3.0000e+05]])'),
    ("3d-float", lambda: torch.arange(12.0).reshape(2, 3, 2) / 4,
     'tensor([[[0.0000, 0.2500],\n'
     '         [0.5000, 0.7500],\n'
     '         [1.0000, 1.2500]],\n'
     '\n'
     '        [[1.5000, 1.7500],\n'
     '         [2.0000, 2.2500],\n'
     '         [2.5000, 2.7500]]])'),
    ("3d-int", lambda: torch.arange(24).reshape(2, 3, 4),
     'tensor([[[ 0,  1,  2,  3],\n'
     '         [ 4,  5,  6,  7],\n'
     '         [ 8,  9, 10, 11]],\n'
     '\n'
     '        [[12, 13, 14, 15],\n'
     '         [16, 17, 18, 19],\n'
     '         [20, 21, 22, 23]]])'),
    ("4d-int", lambda: torch.arange(16).reshape(2, 2, 2, 2),
     'tensor([[[[ 0,  1],\n'
     '          [ 2,  3]],\n'
     '\n'
     '         [[ 4,  5],\n'
     '          [ 6,  7]]],\n'
     '\n'
     '\n'
     '        [[[ 8,  9],\n'
     '          [10, 11]],\n'
     '\n'
     '         [[12, 13],\n'
     '          [14, 15]]]])'),
    ("2d-sci-single-row", lambda: torch.tensor([[1e-10, 1.0]]),
     'tensor([[1.0000e-10, 1.0000e+00]])'),
    ("2d-single-row", lambda: torch.tensor([[1.0, 2.0, 3.0]]),
     'tensor([[1., 2., 3.]])'),
    ("2d-single-column", lambda: torch.tensor([[1.0], [2.0]]),
     'tensor([[1.],\n'
     '        [2.]])'),
    ("int64", lambda: torch.tensor([1, 2, 3]),
     'tensor([1, 2, 3])'),
    ("int64-negative-wide", lambda: torch.tensor([-1, 10, 100]),
     'tensor([ -1,  10, 100])'),
    ("int64-huge", lambda: torch.tensor([10**12, 2 * 10**12, -3 * 10**12]),
     'tensor([ 1000000000000,  2000000000000, -3000000000000])'),
    ("int64-big", lambda: torch.tensor([1, -1000000]),
     'tensor([       1, -1000000])'),
    ("int32", lambda: torch.tensor([1, 2, 3], dtype=torch.int32),
     'tensor([1, 2, 3], dtype=torch.int32)'),
    ("int32-2d", lambda: torch.tensor([[1, -2], [30, 4]], dtype=torch.int32),
     'tensor([[ 1, -2],\n'
     '        [30,  4]], dtype=torch.int32)'),
    ("bool", lambda: torch.tensor([True, False, True]),
     'tensor([ True, False,  True])'),
    ("bool-2d", lambda: torch.tensor([[True, False], [False, False]]),
     'tensor([[ True, False],\n'
     '        [False, False]])'),
    ("float64", lambda: torch.tensor([1.0, 2.0], dtype=torch.float64),
     'tensor([1., 2.], dtype=torch.float64)'),
    ("float64-fractional", lambda: torch.tensor([1.5, -0.125], dtype=torch.float64),
     'tensor([ 1.5000, -0.1250], dtype=torch.float64)'),
    ("float64-2d", lambda: torch.tensor([[1.0, 2.5], [3.0, 4.0]], dtype=torch.float64),
     'tensor([[1.0000, 2.5000],\n'
     '        [3.0000, 4.0000]], dtype=torch.float64)'),
    ("float64-from-numpy", lambda: torch.from_numpy(np.array([0.5, 2.0])),
     'tensor([0.5000, 2.0000], dtype=torch.float64)'),
    ("float64-sci", lambda: torch.tensor([1e-9, 1.0], dtype=torch.float64),
     'tensor([1.0000e-09, 1.0000e+00], dtype=torch.float64)'),
    ("comparison-result", lambda: torch.tensor([1.0, 2.0, 3.0]) > 1.5,
     'tensor([False,  True,  True])'),
    ("long-conversion", lambda: torch.tensor([1.7, -2.2]).long(),
     'tensor([ 1, -2])'),
    ("float-conversion", lambda: torch.tensor([1, 2]).float(),
     'tensor([1., 2.])'),
    ("double-conversion", lambda: torch.tensor([1, 2]).double(),
     'tensor([1., 2.], dtype=torch.float64)'),
    ("empty-float", lambda: torch.tensor([]),
     'tensor([])'),
    ("empty-0x3", lambda: torch.zeros(0, 3),
     'tensor([], size=(0, 3))'),
    ("empty-3x0", lambda: torch.ones(3, 0),
     'tensor([], size=(3, 0))'),
    ("empty-int", lambda: torch.tensor([], dtype=torch.int64),
     'tensor([], dtype=torch.int64)'),
    ("empty-float64", lambda: torch.zeros(0, dtype=torch.float64),
     'tensor([], dtype=torch.float64)'),
    ("empty-bool", lambda: torch.tensor([], dtype=torch.bool),
     'tensor([], dtype=torch.bool)'),
    ("empty-int-2d", lambda: torch.zeros(2, 0, dtype=torch.int32),
     'tensor([], size=(2, 0), dtype=torch.int32)'),
    ("summarized-arange-2000", lambda: torch.arange(2000),
     'tensor([   0,    1,    2,  ..., 1997, 1998, 1999])'),
    ("summarized-float-1001", lambda: torch.arange(1001.0) / 4,
     'tensor([  0.0000,   0.2500,   0.5000,  ..., 249.5000, 249.7500, 250.0000])'),
    ("summarized-threshold-1001", lambda: torch.zeros(1001),
     'tensor([0., 0., 0.,  ..., 0., 0., 0.])'),
    ("summarized-2d-100x100", lambda: torch.arange(10000).reshape(100, 100),
     'tensor([[   0,    1,    2,  ...,   97,   98,   99],\n'
     '        [ 100,  101,  102,  ...,  197,  198,  199],\n'
     '        [ 200,  201,  202,  ...,  297,  298,  299],\n'
     '        ...,\n'
     '        [9700, 9701, 9702,  ..., 9797, 9798, 9799],\n'
     '        [9800, 9801, 9802,  ..., 9897, 9898, 9899],\n'
     '        [9900, 9901, 9902,  ..., 9997, 9998, 9999]])'),
    ("summarized-2d-float", lambda: torch.arange(10000.0).reshape(100, 100) / 8,
     'tensor([[0.0000e+00, 1.2500e-01, 2.5000e-01,  ..., 1.2125e+01, 1.2250e+01,\n'
     '         1.2375e+01],\n'
     '        [1.2500e+01, 1.2625e+01, 1.2750e+01,  ..., 2.4625e+01, 2.4750e+01,\n'
     '         2.4875e+01],\n'
     '        [2.5000e+01, 2.5125e+01, 2.5250e+01,  ..., 3.7125e+01, 3.7250e+01,\n'
     '         3.7375e+01],\n'
     '        ...,\n'
     '        [1.2125e+03, 1.2126e+03, 1.2128e+03,  ..., 1.2246e+03, 1.2248e+03,\n'
     '         1.2249e+03],\n'
     '        [1.2250e+03, 1.2251e+03, 1.2252e+03,  ..., 1.2371e+03, 1.2372e+03,\n'
     '         1.2374e+03],\n'
     '        [1.2375e+03, 1.2376e+03, 1.2378e+03,  ..., 1.2496e+03, 1.2498e+03,\n'
     '         1.2499e+03]])'),
    ("summarized-2d-tall", lambda: torch.arange(2002.0).reshape(1001, 2),
     'tensor([[0.0000e+00, 1.0000e+00],\n'
     '        [2.0000e+00, 3.0000e+00],\n'
     '        [4.0000e+00, 5.0000e+00],\n'
     '        ...,\n'
     '        [1.9960e+03, 1.9970e+03],\n'
     '        [1.9980e+03, 1.9990e+03],\n'
     '        [2.0000e+03, 2.0010e+03]])'),
    ("summarized-2d-wide", lambda: torch.arange(2002.0).reshape(2, 1001),
     'tensor([[0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 9.9800e+02, 9.9900e+02,\n'
     '         1.0000e+03],\n'
     '        [1.0010e+03, 1.0020e+03, 1.0030e+03,  ..., 1.9990e+03, 2.0000e+03,\n'
     '         2.0010e+03]])'),
    ("summarized-2d-columns-only", lambda: torch.arange(6000.0).reshape(3, 2000),
     'tensor([[0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 1.9970e+03, 1.9980e+03,\n'
     '         1.9990e+03],\n'
     '        [2.0000e+03, 2.0010e+03, 2.0020e+03,  ..., 3.9970e+03, 3.9980e+03,\n'
     '         3.9990e+03],\n'
     '        [4.0000e+03, 4.0010e+03, 4.0020e+03,  ..., 5.9970e+03, 5.9980e+03,\n'
     '         5.9990e+03]])'),
    ("summarized-int32", lambda: torch.arange(3000, dtype=torch.int32),
     'tensor([   0,    1,    2,  ..., 2997, 2998, 2999], dtype=torch.int32)'),
    ("summarized-float64", lambda: torch.arange(3000, dtype=torch.float64) / 2,
     'tensor([0.0000e+00, 5.0000e-01, 1.0000e+00,  ..., 1.4985e+03, 1.4990e+03,\n'
     '        1.4995e+03], dtype=torch.float64)'),
    ("summarized-3d", lambda: torch.arange(1200).reshape(12, 10, 10),
     'tensor([[[   0,    1,    2,  ...,    7,    8,    9],\n'
     '         [  10,   11,   12,  ...,   17,   18,   19],\n'
     '         [  20,   21,   22,  ...,   27,   28,   29],\n'
     '         ...,\n'
     '         [  70,   71,   72,  ...,   77,   78,   79],\n'
     '         [  80,   81,   82,  ...,   87,   88,   89],\n'
     '         [  90,   91,   92,  ...,   97,   98,   99]],\n'
     '\n'
     '        [[ 100,  101,  102,  ...,  107,  108,  109],\n'
     '         [ 110,  111,  112,  ...,  117,  118,  119],\n'
     '         [ 120,  121,  122,  ...,  127,  128,  129],\n'
     '         ...,\n'
     '         [ 170,  171,  172,  ...,  177,  178,  179],\n'
     '         [ 180,  181,  182,  ...,  187,  188,  189],\n'
     '         [ 190,  191,  192,  ...,  197,  198,  199]],\n'
     '\n'
     '        [[ 200,  201,  202,  ...,  207,  208,  209],\n'
     '         [ 210,  211,  212,  ...,  217,  218,  219],\n'
     '         [ 220,  221,  222,  ...,  227,  228,  229],\n'
     '         ...,\n'
     '         [ 270,  271,  272,  ...,  277,  278,  279],\n'
     '         [ 280,  281,  282,  ...,  287,  288,  289],\n'
     '         [ 290,  291,  292,  ...,  297,  298,  299]],\n'
     '\n'
     '        ...,\n'
     '\n'
     '        [[ 900,  901,  902,  ...,  907,  908,  909],\n'
     '         [ 910,  911,  912,  ...,  917,  918,  919],\n'
     '         [ 920,  921,  922,  ...,  927,  928,  929],\n'
     '         ...,\n'
     '         [ 970,  971,  972,  ...,  977,  978,  979],\n'
     '         [ 980,  981,  982,  ...,  987,  988,  989],\n'
     '         [ 990,  991,  992,  ...,  997,  998,  999]],\n'
     '\n'
     '        [[1000, 1001, 1002,  ..., 1007, 1008, 1009],\n'
     '         [1010, 1011, 1012,  ..., 1017, 1018, 1019],\n'
     '         [1020, 1021, 1022,  ..., 1027, 1028, 1029],\n'
     '         ...,\n'
     '         [1070, 1071, 1072,  ..., 1077, 1078, 1079],\n'
     '         [1080, 1081, 1082,  ..., 1087, 1088, 1089],\n'
     '         [1090, 1091, 1092,  ..., 1097, 1098, 1099]],\n'
     '\n'
     '        [[1100, 1101, 1102,  ..., 1107, 1108, 1109],\n'
     '         [1110, 1111, 1112,  ..., 1117, 1118, 1119],\n'
     '         [1120, 1121, 1122,  ..., 1127, 1128, 1129],\n'
     '         ...,\n'
     '         [1170, 1171, 1172,  ..., 1177, 1178, 1179],\n'
     '         [1180, 1181, 1182,  ..., 1187, 1188, 1189],\n'
     '         [1190, 1191, 1192,  ..., 1197, 1198, 1199]]])'),
    ("summarized-bool", lambda: torch.arange(1500) > 700,
     'tensor([False, False, False,  ...,  True,  True,  True])'),
    ("wrap-30-floats", lambda: torch.arange(30.0) / 3,
     'tensor([0.0000, 0.3333, 0.6667, 1.0000, 1.3333, 1.6667, 2.0000, 2.3333, 2.6667,\n'
     '        3.0000, 3.3333, 3.6667, 4.0000, 4.3333, 4.6667, 5.0000, 5.3333, 5.6667,\n'
     '        6.0000, 6.3333, 6.6667, 7.0000, 7.3333, 7.6667, 8.0000, 8.3333, 8.6667,\n'
     '        9.0000, 9.3333, 9.6667])'),
    ("wrap-30-int-valued-floats", lambda: torch.arange(30.0),
     'tensor([ 0.,  1.,  2.,  3.,  4.,  5.,  6.,  7.,  8.,  9., 10., 11., 12., 13.,\n'
     '        14., 15., 16., 17., 18., 19., 20., 21., 22., 23., 24., 25., 26., 27.,\n'
     '        28., 29.])'),
    ("wrap-40-ints", lambda: torch.arange(40) * 1000,
     'tensor([    0,  1000,  2000,  3000,  4000,  5000,  6000,  7000,  8000,  9000,\n'
     '        10000, 11000, 12000, 13000, 14000, 15000, 16000, 17000, 18000, 19000,\n'
     '        20000, 21000, 22000, 23000, 24000, 25000, 26000, 27000, 28000, 29000,\n'
     '        30000, 31000, 32000, 33000, 34000, 35000, 36000, 37000, 38000, 39000])'),
    ("wrap-2d-rows", lambda: torch.arange(40.0).reshape(2, 20) / 3,
     'tensor([[ 0.0000,  0.3333,  0.6667,  1.0000,  1.3333,  1.6667,  2.0000,  2.3333,\n'
     '          2.6667,  3.0000,  3.3333,  3.6667,  4.0000,  4.3333,  4.6667,  5.0000,\n'
     '          5.3333,  5.6667,  6.0000,  6.3333],\n'
     '        [ 6.6667,  7.0000,  7.3333,  7.6667,  8.0000,  8.3333,  8.6667,  9.0000,\n'
     '          9.3333,  9.6667, 10.0000, 10.3333, 10.6667, 11.0000, 11.3333, 11.6667,\n'
     '         12.0000, 12.3333, 12.6667, 13.0000]])'),
    ("wrap-float64", lambda: torch.arange(20.0, dtype=torch.float64) / 7,
     'tensor([0.0000, 0.1429, 0.2857, 0.4286, 0.5714, 0.7143, 0.8571, 1.0000, 1.1429,\n'
     '        1.2857, 1.4286, 1.5714, 1.7143, 1.8571, 2.0000, 2.1429, 2.2857, 2.4286,\n'
     '        2.5714, 2.7143], dtype=torch.float64)'),
    ("wrap-int32", lambda: torch.arange(30, dtype=torch.int32) * 100,
     'tensor([   0,  100,  200,  300,  400,  500,  600,  700,  800,  900, 1000, 1100,\n'
     '        1200, 1300, 1400, 1500, 1600, 1700, 1800, 1900, 2000, 2100, 2200, 2300,\n'
     '        2400, 2500, 2600, 2700, 2800, 2900], dtype=torch.int32)'),
    ("wrap-bools", lambda: torch.arange(30) % 3 == 0,
     'tensor([ True, False, False,  True, False, False,  True, False, False,  True,\n'
     '        False, False,  True, False, False,  True, False, False,  True, False,\n'
     '        False,  True, False, False,  True, False, False,  True, False, False])'),
    ("wrap-sci", lambda: torch.tensor([1e-5] * 12),
     'tensor([1.0000e-05, 1.0000e-05, 1.0000e-05, 1.0000e-05, 1.0000e-05, 1.0000e-05,\n'
     '        1.0000e-05, 1.0000e-05, 1.0000e-05, 1.0000e-05, 1.0000e-05, 1.0000e-05])'),
    ("requires-grad-leaf", lambda: torch.tensor([1.0, 2.0], requires_grad=True),
     'tensor([1., 2.], requires_grad=True)'),
    ("requires-grad-0d", lambda: torch.tensor(1.5, requires_grad=True),
     'tensor(1.5000, requires_grad=True)'),
    ("requires-grad-float64",
     lambda: torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True),
     'tensor([1., 2.], dtype=torch.float64, requires_grad=True)'),
    ("requires-grad-empty", lambda: torch.zeros(0, requires_grad=True),
     'tensor([], requires_grad=True)'),
    ("grad-fn-mul", lambda: torch.tensor([1.0, 2.0], requires_grad=True) * 2,
     'tensor([2., 4.], grad_fn=<MulBackward0>)'),
    ("grad-fn-sum", lambda: torch.tensor([1.0, 2.0], requires_grad=True).sum(),
     'tensor(3., grad_fn=<SumBackward0>)'),
    ("grad-fn-mean-float64",
     lambda: torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True).mean(),
     'tensor(1.5000, dtype=torch.float64, grad_fn=<MeanBackward0>)'),
    ("grad-fn-2d",
     lambda: torch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True) @ torch.tensor([[1.0, 0.0], [0.0, 1.0]]),
     'tensor([[1., 2.],\n'
     '        [3., 4.]], grad_fn=<MmBackward0>)'),
    ("grad-fn-0d-float64", lambda: torch.tensor(2.5, dtype=torch.float64, requires_grad=True) * 2,
     'tensor(5., dtype=torch.float64, grad_fn=<MulBackward0>)'),
    ("grad-fn-3d", lambda: torch.arange(8.0, requires_grad=True).reshape(2, 2, 2) * 1,
     'tensor([[[0., 1.],\n'
     '         [2., 3.]],\n'
     '\n'
     '        [[4., 5.],\n'
     '         [6., 7.]]], grad_fn=<MulBackward0>)'),
    ("grad-fn-view", lambda: torch.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True).view(2, 2),
     'tensor([[1., 2.],\n'
     '        [3., 4.]], grad_fn=<ViewBackward0>)'),
    ("grad-fn-select", lambda: torch.tensor([1.0, 2.0, 3.0], requires_grad=True)[1],
     'tensor(2., grad_fn=<SelectBackward0>)'),
    ("grad-fn-cross-entropy",
     lambda: F().cross_entropy(torch.tensor([[1.0, 2.0, 3.0]], requires_grad=True), torch.tensor([2])),
     'tensor(0.4076, grad_fn=<NllLossBackward0>)'),
    ("grad-fn-relu", lambda: F().relu(torch.tensor([-1.0, 2.0], requires_grad=True)),
     'tensor([0., 2.], grad_fn=<ReluBackward0>)'),
    ("grad-fn-sci", lambda: torch.tensor([1e-5, 1.0], requires_grad=True) * 1e5,
     'tensor([1.0000e+00, 1.0000e+05], grad_fn=<MulBackward0>)'),
    ("detached-has-no-suffix", lambda: (torch.tensor([1.0, 2.0], requires_grad=True) * 2).detach(),
     'tensor([2., 4.])'),
    ("leaf-grad-has-no-suffix", lambda: grad_after_backward(),
     'tensor([3., 3.])'),
    ("no-grad-has-no-suffix", lambda: no_grad_mul(torch.tensor([1.0, 2.0], requires_grad=True)),
     'tensor([2., 4.])'),
    ("suffix-wrap-grad-fn", lambda: torch.arange(8.0, requires_grad=True) * 1.5,
     'tensor([ 0.0000,  1.5000,  3.0000,  4.5000,  6.0000,  7.5000,  9.0000, 10.5000],\n'
     '       grad_fn=<MulBackward0>)'),
    ("suffix-wrap-requires-grad",
     lambda: torch.tensor([1.5, 2.25, 3.125, 4.0, 5.5, 6.75, 7.0, 8.5], requires_grad=True),
     'tensor([1.5000, 2.2500, 3.1250, 4.0000, 5.5000, 6.7500, 7.0000, 8.5000],\n'
     '       requires_grad=True)'),
    ("suffix-wrap-dtype",
     lambda: torch.tensor([1.5, 2.25, 3.125, 4.0, 5.5, 6.75, 7.0, 8.5, 9.25], dtype=torch.float64),
     'tensor([1.5000, 2.2500, 3.1250, 4.0000, 5.5000, 6.7500, 7.0000, 8.5000, 9.2500],\n'
     '       dtype=torch.float64)'),
    ("suffix-wrap-dtype-and-grad",
     lambda: torch.arange(6.0, dtype=torch.float64, requires_grad=True) / 3,
     'tensor([0.0000, 0.3333, 0.6667, 1.0000, 1.3333, 1.6667], dtype=torch.float64,\n'
     '       grad_fn=<DivBackward0>)'),
    ("suffix-wrap-multiline-grad", lambda: torch.arange(30.0, requires_grad=True) / 3,
     'tensor([0.0000, 0.3333, 0.6667, 1.0000, 1.3333, 1.6667, 2.0000, 2.3333, 2.6667,\n'
     '        3.0000, 3.3333, 3.6667, 4.0000, 4.3333, 4.6667, 5.0000, 5.3333, 5.6667,\n'
     '        6.0000, 6.3333, 6.6667, 7.0000, 7.3333, 7.6667, 8.0000, 8.3333, 8.6667,\n'
     '        9.0000, 9.3333, 9.6667], grad_fn=<DivBackward0>)'),
    ("suffix-wrap-2d-grad", lambda: torch.arange(12.0, requires_grad=True).reshape(3, 4) / 7,
     'tensor([[0.0000, 0.1429, 0.2857, 0.4286],\n'
     '        [0.5714, 0.7143, 0.8571, 1.0000],\n'
     '        [1.1429, 1.2857, 1.4286, 1.5714]], grad_fn=<DivBackward0>)'),
    ("suffix-int32-2d-multiline", lambda: torch.arange(60, dtype=torch.int32).reshape(3, 20),
     'tensor([[ 0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14, 15, 16, 17,\n'
     '         18, 19],\n'
     '        [20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37,\n'
     '         38, 39],\n'
     '        [40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57,\n'
     '         58, 59]], dtype=torch.int32)'),
    ("suffix-summarized-grad", lambda: torch.arange(2000.0, requires_grad=True) * 2,
     'tensor([0.0000e+00, 2.0000e+00, 4.0000e+00,  ..., 3.9940e+03, 3.9960e+03,\n'
     '        3.9980e+03], grad_fn=<MulBackward0>)'),
]


@pytest.mark.parametrize("make, expected", [pytest.param(m, e, id=i) for i, m, e in CASES])
def test_repr(make, expected):
    assert repr(make()) == expected


@pytest.mark.parametrize("make, expected", [pytest.param(m, e, id=i) for i, m, e in CASES])
def test_str_is_repr(make, expected):
    assert str(make()) == expected


def test_print_writes_the_repr(capsys):
    print(torch.tensor([[1.5, -2.0], [0.25, 4.0]]))
    assert capsys.readouterr().out == "tensor([[ 1.5000, -2.0000],\n        [ 0.2500,  4.0000]])\n"


def test_1000_elements_are_not_summarized():
    text = repr(torch.zeros(1000))
    assert "..." not in text
    assert text.count("0.") == 1000
    assert text.count("\n") == 41  # 24 values per line, 42 lines


def test_repr_inside_containers_uses_tensor_repr():
    assert repr([torch.tensor([1.0]), torch.tensor(2)]) == "[tensor([1.]), tensor(2)]"
    assert repr((torch.tensor(True),)) == "(tensor(True),)"


def test_fstring_uses_str():
    t = torch.tensor([1, 2])
    assert f"t = {t}" == "t = tensor([1, 2])"
