// Platform-independent core: no Android imports, so it runs (and is tested) on any JVM.
// Outside Gradle, core/jvm-test.sh compiles and tests the same sources with kotlinc.
plugins {
    alias(libs.plugins.kotlin.jvm)
    `java-library`
}

kotlin {
    jvmToolchain(17)
}

dependencies {
    api(libs.gson) // Manifest's public constructor takes a Gson JsonObject
    testImplementation(libs.junit.jupiter)
    testRuntimeOnly(libs.junit.platform.launcher)
    testImplementation(libs.sqlite.jdbc)
}

tasks.test {
    useJUnitPlatform()
    // POCKETCLIP_BUNDLE, POCKETCLIP_PY_STORE, POCKETCLIP_OUT_STORE, POCKETCLIP_OUT_REPORT come from the
    // environment (Gradle passes it to the test JVM); see README.md.
    testLogging { events("passed", "skipped", "failed"); showStandardStreams = true }
}
