namespace Firezone.Snownet.Tests;

public class SmokeTests
{
    [Fact]
    public void Assembly_loads() => Assert.Equal("Firezone.Snownet", typeof(Firezone.Snownet.AssemblyMarker).Assembly.GetName().Name);

    [FsCheck.Xunit.Property]
    public bool Addition_commutes(int a, int b) => a + b == b + a;
}
