"""Class instantiation (the class call itself is not a C function), super(), properties, class and
static methods."""


class Shape:
    def __init__(self, name):
        self.name = name

    def area(self):
        raise NotImplementedError

    def describe(self):
        return f"{self.name}: {self.area():.1f}"


class Square(Shape):
    def __init__(self, side):
        super().__init__("square")
        self.side = side

    def area(self):
        return self.side**2

    @property
    def perimeter(self):
        return 4 * self.side

    @classmethod
    def unit(cls):
        return cls(1)

    @staticmethod
    def sides():
        return 4


def main():
    shapes = [Square(2), Square.unit()]
    descriptions = [shape.describe() for shape in shapes]
    return descriptions, shapes[0].perimeter, Square.sides()
