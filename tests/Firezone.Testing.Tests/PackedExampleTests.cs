using System.Diagnostics;

namespace Firezone.Testing.Tests;

/// <summary>
/// The kit as a product: samples/Firezone.Testing.Example (outside Firezone.sln) consumes Firezone.Snownet and
/// Firezone.Testing as NuGet packages. This packs every library into a temporary folder under a version no earlier
/// run used (so NuGet's global cache cannot serve stale bits), then builds and runs the example with
/// <c>dotnet test</c>, its outputs in the temporary folder too. Takes about half a minute.
/// </summary>
public class PackedExampleTests
{
    private static readonly string[] Libraries = ["Firezone.PhoenixChannel", "Firezone.Tun", "Firezone.Snownet", "Firezone.Connlib", "Firezone.Testing"];

    [Fact]
    public void The_example_builds_from_the_packed_packages_and_its_property_passes()
    {
        string root = RepositoryRoot();
        string temp = Directory.CreateTempSubdirectory("firezone-testing-example-").FullName;
        string version = $"0.1.0-example.{DateTime.UtcNow:yyyyMMddHHmmss}.{Environment.ProcessId}";
        try
        {
            var (rc, output) = Dotnet(temp, "new", "sln", "-n", "pack", "-o", temp);
            Assert.SkipWhen(rc == -1, "dotnet cannot be run: " + output);
            Assert.True(rc == 0, output);
            string solution = Directory.GetFiles(temp, "pack.sln*").Single();
            (rc, output) = Dotnet(temp, ["sln", solution, "add", .. Libraries.Select(l => Path.Combine(root, "src", l, l + ".csproj"))]);
            Assert.True(rc == 0, output);
            string packages = Path.Combine(temp, "packages");
            (rc, output) = Dotnet(temp, "pack", solution, "-c", "Release", "--nologo", "-nodeReuse:false", "-maxcpucount:1",
                "-p:UseArtifactsOutput=true", $"-p:ArtifactsPath={Path.Combine(temp, "build")}", $"-p:PackageOutputPath={packages}", $"-p:Version={version}");
            Assert.True(rc == 0, output);
            Assert.All(Libraries, l => Assert.True(File.Exists(Path.Combine(packages, $"{l}.{version}.nupkg")), $"{l} not packed\n{output}"));

            (rc, output) = Dotnet(root, "test", "--project", Path.Combine(root, "samples", "Firezone.Testing.Example"),
                "-p:UseArtifactsOutput=true", $"-p:ArtifactsPath={Path.Combine(temp, "example")}",
                $"-p:FirezonePackageSource={packages}", $"-p:FirezonePackageVersion={version}");
            Assert.True(rc == 0, output);
            Assert.Contains("succeeded: 1", output, StringComparison.Ordinal);
            Assert.Contains("failed: 0", output, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(temp, recursive: true);
            RemoveFromGlobalCache(version);
        }
    }

    private static void RemoveFromGlobalCache(string version)
    {
        string cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        foreach (var library in Libraries)
        {
            var folder = Path.Combine(cache, library.ToLowerInvariant(), version);
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
    }

    private static string RepositoryRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "Firezone.sln")))
            {
                return d.FullName;
            }
        }

        throw new InvalidOperationException($"no Firezone.sln above {AppContext.BaseDirectory}");
    }

    /// <summary>Runs dotnet with the given arguments; -1 when it cannot be started. The MSBuild variables of the
    /// `dotnet test` that runs this test are removed so the child picks its own SDK.</summary>
    private static (int ExitCode, string Output) Dotnet(string workingDirectory, params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in arguments)
        {
            start.ArgumentList.Add(a);
        }

        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase) || k == "DOTNET_HOST_PATH").ToList())
        {
            start.Environment.Remove(key);
        }

        // No MSBuild node, build server or compiler server outlives the child: nothing is left running after the test.
        start.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        start.Environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
        start.Environment["UseSharedCompilation"] = "false";
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        try
        {
            using var process = Process.Start(start)!;
            // Lowest CPU priority (inherited by the compilers it starts) and one build node: the suite's other test
            // projects run meanwhile, and their timing-sensitive tests (e.g. allocation windows) must not starve.
            process.PriorityClass = ProcessPriorityClass.Idle;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(TimeSpan.FromMinutes(5)))
            {
                process.Kill(entireProcessTree: true);
                return (124, $"dotnet {string.Join(' ', arguments)} timed out\n{stdout.Result}{stderr.Result}");
            }

            return (process.ExitCode, $"dotnet {string.Join(' ', arguments)}\n{stdout.Result}{stderr.Result}");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (-1, e.Message);
        }
    }
}
