namespace Firezone.Tun.Tests;

public class SmokeTests
{
    [Fact]
    public void Assembly_loads() => Assert.Equal("Firezone.Tun", typeof(Firezone.Tun.AssemblyMarker).Assembly.GetName().Name);

    [FsCheck.Xunit.Property]
    public bool Addition_commutes(int a, int b) => a + b == b + a;
}
