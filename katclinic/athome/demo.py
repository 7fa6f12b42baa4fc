from katclinic.demo.generator import DemoWorld


def build(world: DemoWorld) -> None:
    del world
