import org.jetbrains.kotlin.gradle.dsl.JvmTarget

plugins {
    alias(libs.plugins.android.application)
    alias(libs.plugins.kotlin.android)
}

android {
    namespace = "org.pocketclip.app"
    compileSdk = 35

    defaultConfig {
        applicationId = "org.pocketclip.app"
        minSdk = 29 // MediaStore RELATIVE_PATH and ContentResolver.loadThumbnail
        targetSdk = 35
        versionCode = 1
        versionName = "0.1.0"
        testInstrumentationRunner = "androidx.test.runner.AndroidJUnitRunner"
        // The runtime labels written into device reports.
        buildConfigField("String", "EXECUTORCH_VERSION", "\"${libs.versions.executorch.get()}\"")
        buildConfigField("String", "ONNXRUNTIME_VERSION", "\"${libs.versions.onnxruntime.get()}\"")
        ndk { abiFilters += listOf("arm64-v8a", "x86_64") } // the ABIs ExecuTorch's AAR ships
    }

    buildFeatures { buildConfig = true }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }

    // A bundle packaged as assets/bundle is copied out once; keep the models uncompressed in the APK.
    androidResources { noCompress += listOf("pte", "onnx", "npy", "gz") }
}

kotlin {
    compilerOptions { jvmTarget.set(JvmTarget.JVM_17) }
}

// The offline places the photos' positions resolve to (docs/contracts.md, "Photo facts"): the runtime's own file,
// copied into the assets at build time so the phone and the desktop resolve a position to the same place.
val placesAssets = layout.buildDirectory.dir("generated/placesAssets")
val copyPlaces by tasks.registering(Copy::class) {
    from(rootProject.file("../runtime/facts/places.tsv.gz"))
    into(placesAssets)
}
android.sourceSets.getByName("main").assets.srcDir(placesAssets)
tasks.named("preBuild") { dependsOn(copyPlaces) }

dependencies {
    implementation(project(":core"))
    implementation(libs.gson)
    implementation(libs.executorch.android)
    implementation(libs.onnxruntime.android)
    implementation(libs.work.runtime.ktx)
    implementation(libs.exifinterface)
    implementation(libs.recyclerview)
    implementation(libs.activity.ktx)
    implementation(libs.lifecycle.runtime.ktx)
    implementation(libs.coroutines.android)
    androidTestImplementation(libs.androidx.test.runner)
    androidTestImplementation(libs.androidx.test.junit)
}
